/**
 * X-Forefront-Antispam-Report decoded field by field, with the meanings Microsoft documents in
 * "Anti-spam message headers in Microsoft 365" (ANTISPAM_HEADERS_URL). That page says fields it
 * does not describe are used only by Microsoft's anti-spam team for diagnostics; such a field is
 * reported as undocumented, never guessed at.
 */

export const ANTISPAM_HEADERS_URL = 'https://learn.microsoft.com/en-us/defender-office-365/message-headers-eop-mdo';
export const ANTISPAM_SCL_URL = 'https://learn.microsoft.com/en-us/defender-office-365/anti-spam-spam-confidence-level-scl-about';

export interface DecodedField {
  field: string;
  value: string;
  /** What the value means, when documented. */
  meaning: string;
  documented: boolean;
}

const UNDOCUMENTED = 'not documented: Microsoft says fields its page does not describe are used only by its anti-spam team for diagnostics';

const SFV: Record<string, string> = {
  BLK: "filtering was skipped and the message blocked: the sender is on the user's Blocked Senders list",
  NSPM: 'spam filtering marked the message as not spam; it went to the intended recipients',
  SFE: "filtering was skipped: the sender is on the user's Safe Senders list",
  SKA: "spam filtering was skipped: the sender is on the anti-spam policy's allowed senders or domains",
  SKB: "marked as spam: the sender is on the anti-spam policy's blocked senders or domains",
  SKI: "spam filtering was skipped. Microsoft's current page gives the connection filter's IP Allow List as the reason; its earlier versions said 'another reason, e.g. intra-organization mail', and hybrid mail that arrives internal carries SFV:SKI with SCL -1 [field]",
  SKN: 'marked as not spam before spam filtering, e.g. a mail flow rule set SCL -1',
  SKQ: 'released from quarantine to the intended recipients',
  SKS: 'marked as spam before spam filtering: a mail flow rule set SCL 5-9, or on premises passed a spam verdict in a hybrid',
  SPM: 'spam filtering marked the message as spam',
};

const CAT: Record<string, string> = {
  AMP: 'anti-malware',
  BIMP: 'brand impersonation (Defender for Office 365)',
  BULK: 'bulk',
  DIMP: 'domain impersonation (Defender for Office 365)',
  FTBP: 'anti-malware common attachments filter',
  GIMP: 'mailbox intelligence impersonation (Defender for Office 365)',
  HPHSH: 'high confidence phishing',
  HPHISH: 'high confidence phishing',
  HSPM: 'high confidence spam',
  INTOS: 'intra-organization phishing',
  MALW: 'malware',
  OSPM: 'outbound spam',
  PHSH: 'phishing',
  SAP: 'Safe Attachments (Defender for Office 365)',
  SPM: 'spam',
  SPOOF: 'spoofing',
  UIMP: 'user impersonation (Defender for Office 365)',
};

const DIR: Record<string, string> = { INB: 'inbound message', OUT: 'outbound message', INT: 'internal message' };
const IPV: Record<string, string> = {
  CAL: "spam filtering was skipped: the connecting IP is on the connection filter's IP Allow List",
  NLI: 'the connecting IP was not found on any IP reputation list',
};

/** Bands from Microsoft's "Spam confidence level (SCL)" page (ANTISPAM_SCL_URL). */
function scl(value: string): { meaning: string; documented: boolean } {
  const n = Number(value);
  if (value === '' || !Number.isInteger(n)) return { meaning: 'no spam confidence level given', documented: true };
  if (n < -1 || n > 9) return { meaning: `spam confidence level ${n}: outside -1 to 9, the values Microsoft documents`, documented: false };
  const band =
    n === -1
      ? 'skipped spam filtering (a safe sender, the IP Allow List, a mail flow rule, or mail the organization treats as internal)'
      : n <= 1
        ? 'not spam'
        : n <= 4
          ? 'not used by spam filtering (a mail flow rule can set it; Microsoft gives it no action)'
          : n <= 6
            ? 'spam'
            : n === 7
              ? 'not used by spam filtering; a mail flow rule that sets 7 triggers the high confidence spam action'
              : 'high confidence spam';
  return {
    meaning: `spam confidence level ${n}: ${band}. Microsoft notes that in the cloud SCL does not decide the verdict (CAT and DIR do); on premises it decides Junk Email delivery`,
    documented: true,
  };
}

function decodeOne(field: string, value: string): DecodedField {
  const d = (meaning: string, documented = true): DecodedField => ({ field, value, meaning, documented });
  const from = (table: Record<string, string>, what: string) =>
    table[value] ? d(table[value]) : d(`${what} ${value || '(empty)'}: a value Microsoft's page does not list`, false);
  switch (field) {
    case 'CIP':
      return d(value ? `connecting IP address ${value} (the one to put on the IP Allow or Block List)` : 'connecting IP address: empty');
    case 'CTRY':
      return d(value ? `source country/region ${value}, from the connecting IP` : 'source country/region: empty (not determined from the connecting IP)');
    case 'LANG':
      return d(value ? `the message is written in ${value}` : 'language: empty');
    case 'SCL': {
      const s = scl(value);
      return d(s.meaning, s.documented);
    }
    case 'SRV':
      return value === 'BULK'
        ? d('identified as bulk email by spam filtering and the bulk complaint level threshold')
        : value === ''
          ? d('empty: not identified as bulk (the page documents only SRV:BULK)')
          : d(`SRV ${value}: the page documents only SRV:BULK`, false);
    case 'IPV':
      return from(IPV, 'IP verdict');
    case 'SFV':
      return from(SFV, 'spam filtering verdict');
    case 'PTR':
      return d(value ? `reverse DNS (PTR) of the source IP: ${value}` : 'reverse DNS (PTR) of the source IP: empty');
    case 'CAT':
      if (value === 'NONE')
        return d(
          "NONE: no protection category applied [seen in real headers and in the page's example in earlier versions; its table does not list it]",
          false,
        );
      return from(CAT, 'category');
    case 'DIR':
      return from(DIR, 'directionality');
    case 'H':
      return d(value ? `HELO/EHLO of the connecting server: ${value}` : 'HELO/EHLO of the connecting server: empty');
    case 'SFTY':
      return d(
        value
          ? `identified as phishing, safety tip ${value} (9.19 domain impersonation, 9.20 user impersonation, 9.25 first contact)`
          : 'no phishing safety tip',
      );
    case 'SFS':
      return d(UNDOCUMENTED, false);
    default:
      return d(UNDOCUMENTED, false);
  }
}

/** `CIP:1.2.3.4;CTRY:;…;` → one decoded entry per field, in the order written. */
export function decodeAntispamReport(header: string): DecodedField[] {
  return header
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const colon = part.indexOf(':');
      const field = (colon >= 0 ? part.slice(0, colon) : part).trim().toUpperCase();
      const value = colon >= 0 ? part.slice(colon + 1).trim() : '';
      return decodeOne(field, value);
    });
}

export const antispamValue = (fields: readonly DecodedField[], name: string) => fields.find((f) => f.field === name)?.value;
