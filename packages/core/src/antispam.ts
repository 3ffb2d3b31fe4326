import type { HostedConnectionFilterPolicy, HostedContentFilterPolicy } from './model';
import { ipListed } from './ip';
import { domainMatches } from './names';
import type { AuthAs } from './exchange-headers';

/** GTUBE, the standard test string spam filters recognise; the lab's deterministic content verdict. */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

export interface AntispamInput {
  authAs: AuthAs;
  clientIp?: string;
  helo?: string;
  sender: string;
  /** Any recipient outside the organization's accepted domains. */
  outbound: boolean;
  body: string;
  connectionFilter?: HostedConnectionFilterPolicy;
  contentFilter?: HostedContentFilterPolicy;
  /** An SCL a mail flow rule set before filtering. */
  ruleScl?: number;
}

export interface AntispamVerdict {
  sfv: 'SKI' | 'SKN' | 'SKS' | 'SKA' | 'SKB' | 'SPM' | 'NSPM';
  scl: number;
  ipv: 'CAL' | 'NLI';
  cat: 'NONE' | 'SPM' | 'HSPM' | 'OSPM';
  dir: 'INB' | 'OUT' | 'INT';
  reason: string;
}

/** Junk Email when the SCL says spam (the default SpamAction MoveToJmf; 5 and above). */
export function folderFor(scl: number | undefined): 'Inbox' | 'Junk Email' {
  return scl !== undefined && scl >= 5 ? 'Junk Email' : 'Inbox';
}

const listed = (sender: string, senders?: string[], domains?: string[]) => {
  const domain = sender.slice(sender.lastIndexOf('@') + 1);
  return !!senders?.some((s) => s.toLowerCase() === sender.toLowerCase()) || !!domains?.some((d) => domainMatches(d, domain));
};

/**
 * Exchange Online Protection's verdict in the order EOP applies its checks. Values follow
 * docs/exchange.md, "X-Forefront-Antispam-Report"; SCLs for allow/block lists are [lab].
 */
export function antispamVerdict(i: AntispamInput): AntispamVerdict {
  const dir: AntispamVerdict['dir'] = i.outbound ? 'OUT' : i.authAs === 'Internal' ? 'INT' : 'INB';
  const ipv: AntispamVerdict['ipv'] = i.clientIp && ipListed(i.clientIp, i.connectionFilter?.IPAllowList) ? 'CAL' : 'NLI';
  const v = (sfv: AntispamVerdict['sfv'], scl: number, cat: AntispamVerdict['cat'], reason: string): AntispamVerdict => ({ sfv, scl, ipv, cat, dir, reason });
  if (i.ruleScl !== undefined && i.ruleScl < 0) return v('SKN', -1, 'NONE', 'a mail flow rule set SCL -1 before filtering');
  if (i.ruleScl !== undefined && i.ruleScl >= 5) return v('SKS', i.ruleScl, 'SPM', `a mail flow rule set SCL ${i.ruleScl} before filtering`);
  if (i.authAs === 'Internal' && !i.outbound) return v('SKI', -1, 'NONE', 'internal mail is not filtered');
  if (i.authAs === 'Internal') {
    // Outbound mail is scanned by the outbound policy: the inbound allow lists do not apply to it.
    if (i.body.includes(GTUBE)) return v('SPM', 6, 'OSPM', 'outbound spam filter recognised the GTUBE test string');
    return v('NSPM', -1, 'NONE', 'outbound mail scanned: not spam');
  }
  if (ipv === 'CAL') return v('SKN', -1, 'NONE', `connecting IP ${i.clientIp} is on the connection filter's IPAllowList`);
  const cf = i.contentFilter;
  if (listed(i.sender, cf?.AllowedSenders, cf?.AllowedSenderDomains))
    return v('SKA', -1, 'NONE', `${i.sender} is on the anti-spam policy's allowed senders or domains`);
  if (listed(i.sender, cf?.BlockedSenders, cf?.BlockedSenderDomains))
    return v('SKB', 9, 'HSPM', `${i.sender} is on the anti-spam policy's blocked senders or domains`);
  if (i.body.includes(GTUBE)) return v('SPM', 6, 'SPM', 'the content filter recognised the GTUBE test string');
  return v('NSPM', 1, 'NONE', 'content filter: not spam');
}

export function formatAntispamReport(v: AntispamVerdict, clientIp: string | undefined, helo: string | undefined): string {
  return `CIP:${clientIp ?? '255.255.255.255'};CTRY:;LANG:en;SCL:${v.scl};SRV:;IPV:${v.ipv};SFV:${v.sfv};H:${helo ?? ''};PTR:;CAT:${v.cat};SFS:;DIR:${v.dir};`;
}
