import { antispamVerdict, folderFor, formatAntispamReport, GTUBE, type AntispamInput } from '@relaylab/core';

/**
 * docs/exchange.md, "X-Forefront-Antispam-Report": the values, in the order
 * EOP applies its checks. SCLs for allow/block lists are relaylab's choice [lab].
 */

const base: AntispamInput = {
  authAs: 'Anonymous',
  clientIp: '127.0.0.99',
  helo: 'mx.tailspin.example',
  sender: 'someone@tailspin.example',
  outbound: false,
  body: 'Hello\r\n',
};

const POLICIES: Pick<AntispamInput, 'connectionFilter' | 'contentFilter'> = {
  connectionFilter: { IPAllowList: ['127.0.1.0/24'] },
  contentFilter: {
    AllowedSenders: ['Friend@fabrikam.example'],
    AllowedSenderDomains: ['partner.example'],
    BlockedSenders: ['spammer@tailspin.example'],
    BlockedSenderDomains: ['*.junk.example'],
  },
};

describe('antispamVerdict: the first check that decides wins', () => {
  test.each`
    case                                                 | input                                                                                                                                                | sfv       | scl   | ipv      | cat       | dir      | reason
    ${'rule SCL -1 beats everything, even a block list'} | ${{ ruleScl: -1, sender: 'spammer@tailspin.example', body: GTUBE }}                                                                                  | ${'SKN'}  | ${-1} | ${'NLI'} | ${'NONE'} | ${'INB'} | ${/mail flow rule set SCL -1/}
    ${'rule SCL 5 → made spam by a rule'}                | ${{ ruleScl: 5, sender: 'friend@fabrikam.example' }}                                                                                                 | ${'SKS'}  | ${5}  | ${'NLI'} | ${'SPM'}  | ${'INB'} | ${/mail flow rule set SCL 5/}
    ${'rule SCL 9 keeps its value'}                      | ${{ ruleScl: 9 }}                                                                                                                                    | ${'SKS'}  | ${9}  | ${'NLI'} | ${'SPM'}  | ${'INB'} | ${/SCL 9/}
    ${'rule SCL 5 even on internal mail'}                | ${{ ruleScl: 5, authAs: 'Internal' }}                                                                                                                | ${'SKS'}  | ${5}  | ${'NLI'} | ${'SPM'}  | ${'INT'} | ${/SCL 5/}
    ${'rule SCL 0–4: filtering goes on'}                 | ${{ ruleScl: 3 }}                                                                                                                                    | ${'NSPM'} | ${1}  | ${'NLI'} | ${'NONE'} | ${'INB'} | ${/content filter: not spam/}
    ${'rule SCL 0–4 and GTUBE: still spam'}              | ${{ ruleScl: 0, body: GTUBE }}                                                                                                                       | ${'SPM'}  | ${6}  | ${'NLI'} | ${'SPM'}  | ${'INB'} | ${/GTUBE/}
    ${'internal inbound → skipped, intra-organization'}  | ${{ authAs: 'Internal', body: GTUBE, sender: 'spammer@tailspin.example' }}                                                                           | ${'SKI'}  | ${-1} | ${'NLI'} | ${'NONE'} | ${'INT'} | ${/internal mail is not filtered/}
    ${'internal inbound from an IP-allowed address'}     | ${{ authAs: 'Internal', clientIp: '127.0.1.70' }}                                                                                                    | ${'SKI'}  | ${-1} | ${'CAL'} | ${'NONE'} | ${'INT'} | ${/internal/}
    ${'IPAllowList → IPV:CAL, SKN, SCL -1'}              | ${{ clientIp: '127.0.1.70', sender: 'spammer@tailspin.example', body: GTUBE }}                                                                       | ${'SKN'}  | ${-1} | ${'CAL'} | ${'NONE'} | ${'INB'} | ${/127\.0\.1\.70 is on the connection filter's IPAllowList/}
    ${'IPAllowList, IPv4-mapped address'}                | ${{ clientIp: '::ffff:127.0.1.70' }}                                                                                                                 | ${'SKN'}  | ${-1} | ${'CAL'} | ${'NONE'} | ${'INB'} | ${/IPAllowList/}
    ${'AllowedSenders (case-insensitive) → SKA'}         | ${{ sender: 'FRIEND@fabrikam.example', body: GTUBE }}                                                                                                | ${'SKA'}  | ${-1} | ${'NLI'} | ${'NONE'} | ${'INB'} | ${/FRIEND@fabrikam\.example is on the anti-spam policy's allowed senders or domains/}
    ${'AllowedSenderDomains → SKA'}                      | ${{ sender: 'x@partner.example' }}                                                                                                                   | ${'SKA'}  | ${-1} | ${'NLI'} | ${'NONE'} | ${'INB'} | ${/allowed/}
    ${'allowed beats blocked'}                           | ${{ sender: 'friend@fabrikam.example', contentFilter: { AllowedSenders: ['friend@fabrikam.example'], BlockedSenderDomains: ['fabrikam.example'] } }} | ${'SKA'}  | ${-1} | ${'NLI'} | ${'NONE'} | ${'INB'} | ${/allowed/}
    ${'BlockedSenders → SKB, SCL 9'}                     | ${{ sender: 'spammer@tailspin.example' }}                                                                                                            | ${'SKB'}  | ${9}  | ${'NLI'} | ${'HSPM'} | ${'INB'} | ${/blocked senders or domains/}
    ${'BlockedSenderDomains wildcard → SKB'}             | ${{ sender: 'x@mail.junk.example', body: GTUBE }}                                                                                                    | ${'SKB'}  | ${9}  | ${'NLI'} | ${'HSPM'} | ${'INB'} | ${/blocked/}
    ${'GTUBE → SPM, SCL 6'}                              | ${{ body: `line 1\r\n${GTUBE}\r\n` }}                                                                                                                | ${'SPM'}  | ${6}  | ${'NLI'} | ${'SPM'}  | ${'INB'} | ${/GTUBE test string/}
    ${'Partner mail with GTUBE'}                         | ${{ authAs: 'Partner', body: GTUBE }}                                                                                                                | ${'SPM'}  | ${6}  | ${'NLI'} | ${'SPM'}  | ${'INB'} | ${/GTUBE/}
    ${'otherwise → NSPM, SCL 1'}                         | ${{}}                                                                                                                                                | ${'NSPM'} | ${1}  | ${'NLI'} | ${'NONE'} | ${'INB'} | ${/content filter: not spam/}
    ${'outbound internal (on premises out via EOP)'}     | ${{ authAs: 'Internal', outbound: true }}                                                                                                            | ${'NSPM'} | ${-1} | ${'NLI'} | ${'NONE'} | ${'OUT'} | ${/outbound mail scanned: not spam/}
    ${'outbound internal with GTUBE is scanned'}         | ${{ authAs: 'Internal', outbound: true, body: GTUBE }}                                                                                               | ${'SPM'}  | ${6}  | ${'NLI'} | ${'OSPM'} | ${'OUT'} | ${/GTUBE/}
    ${'no policies at all'}                              | ${{ connectionFilter: undefined, contentFilter: undefined, clientIp: '127.0.1.70' }}                                                                 | ${'NSPM'} | ${1}  | ${'NLI'} | ${'NONE'} | ${'INB'} | ${/not spam/}
  `('$case → SFV:$sfv SCL:$scl IPV:$ipv CAT:$cat DIR:$dir', ({ input, sfv, scl, ipv, cat, dir, reason }) => {
    const v = antispamVerdict({ ...base, ...POLICIES, ...input });
    expect({ sfv: v.sfv, scl: v.scl, ipv: v.ipv, cat: v.cat, dir: v.dir }).toEqual({ sfv, scl, ipv, cat, dir });
    expect(v.reason).toMatch(reason);
  });

  test.each`
    authAs         | outbound | dir
    ${'Anonymous'} | ${false} | ${'INB'}
    ${'Partner'}   | ${false} | ${'INB'}
    ${'Internal'}  | ${false} | ${'INT'}
    ${'Anonymous'} | ${true}  | ${'OUT'}
    ${'Internal'}  | ${true}  | ${'OUT'}
  `('DIR: $authAs, outbound $outbound → $dir', ({ authAs, outbound, dir }) => {
    expect(antispamVerdict({ ...base, authAs, outbound }).dir).toBe(dir);
  });

  test('the GTUBE constant is the standard test string', () => {
    expect(GTUBE).toBe('XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X');
  });
});

describe('outbound scanning is not bypassed by inbound lists (docs/exchange.md, "Internal hybrid mail": relayed-out mail "is still scanned as outbound")', () => {
  test('outbound GTUBE from an on-premises address on the connection filter IPAllowList is still scanned → SPM, DIR:OUT', () => {
    const v = antispamVerdict({ ...base, ...POLICIES, authAs: 'Internal', outbound: true, clientIp: '127.0.1.70', body: GTUBE });
    expect({ sfv: v.sfv, dir: v.dir }).toEqual({ sfv: 'SPM', dir: 'OUT' });
  });

  test('outbound GTUBE from a sender on the (inbound) anti-spam policy AllowedSenderDomains is still scanned → SPM, DIR:OUT', () => {
    const v = antispamVerdict({
      ...base,
      authAs: 'Internal',
      outbound: true,
      sender: 'bob@contoso.example',
      contentFilter: { AllowedSenderDomains: ['contoso.example'] },
      body: GTUBE,
    });
    expect({ sfv: v.sfv, dir: v.dir }).toEqual({ sfv: 'SPM', dir: 'OUT' });
  });
});

describe('formatAntispamReport', () => {
  test('fields in order: CIP, CTRY, LANG, SCL, SRV, IPV, SFV, H, PTR, CAT, SFS, DIR — each ends with ;', () => {
    const v = antispamVerdict({ ...base, body: GTUBE });
    expect(formatAntispamReport(v, '127.0.0.99', 'mx.tailspin.example')).toBe(
      'CIP:127.0.0.99;CTRY:;LANG:en;SCL:6;SRV:;IPV:NLI;SFV:SPM;H:mx.tailspin.example;PTR:;CAT:SPM;SFS:;DIR:INB;',
    );
  });

  test.each`
    case                      | input                                                          | ip              | helo                      | expected
    ${'internal hybrid mail'} | ${{ authAs: 'Internal' }}                                      | ${'127.0.0.10'} | ${'mail.contoso.example'} | ${'CIP:127.0.0.10;CTRY:;LANG:en;SCL:-1;SRV:;IPV:NLI;SFV:SKI;H:mail.contoso.example;PTR:;CAT:NONE;SFS:;DIR:INT;'}
    ${'IP allow list'}        | ${{ clientIp: '127.0.1.70', ...POLICIES }}                     | ${'127.0.1.70'} | ${'relay.example'}        | ${'CIP:127.0.1.70;CTRY:;LANG:en;SCL:-1;SRV:;IPV:CAL;SFV:SKN;H:relay.example;PTR:;CAT:NONE;SFS:;DIR:INB;'}
    ${'no IP, no HELO'}       | ${{ clientIp: undefined, authAs: 'Internal', outbound: true }} | ${undefined}    | ${undefined}              | ${'CIP:255.255.255.255;CTRY:;LANG:en;SCL:-1;SRV:;IPV:NLI;SFV:NSPM;H:;PTR:;CAT:NONE;SFS:;DIR:OUT;'}
  `('$case', ({ input, ip, helo, expected }) => {
    expect(formatAntispamReport(antispamVerdict({ ...base, ...input }), ip, helo)).toBe(expected);
  });

  test('every field written is a key:value; pair from the documented value sets', () => {
    const report = formatAntispamReport(antispamVerdict({ ...base, sender: 'spammer@tailspin.example', ...POLICIES }), '127.0.0.99', 'h');
    const fields = Object.fromEntries(
      report
        .split(';')
        .filter(Boolean)
        .map((p) => [p.slice(0, p.indexOf(':')), p.slice(p.indexOf(':') + 1)]),
    );
    expect(report.endsWith(';')).toBe(true);
    expect(['INB', 'OUT', 'INT']).toContain(fields.DIR);
    expect(['CAL', 'NLI']).toContain(fields.IPV);
    expect(['NSPM', 'SPM', 'SKA', 'SKB', 'SKN', 'SKS', 'SFE', 'BLK', 'SKI']).toContain(fields.SFV);
    expect(['NONE', 'SPM', 'HSPM', 'PHSH', 'BULK', 'SPOOF', 'MALW', 'OSPM', 'INTOS']).toContain(fields.CAT);
    expect(Number(fields.SCL)).toBeGreaterThanOrEqual(-1);
    expect(Number(fields.SCL)).toBeLessThanOrEqual(9);
  });
});

describe('folderFor: SCL 5 and above goes to Junk Email', () => {
  test.each`
    scl          | folder
    ${undefined} | ${'Inbox'}
    ${-1}        | ${'Inbox'}
    ${0}         | ${'Inbox'}
    ${1}         | ${'Inbox'}
    ${4}         | ${'Inbox'}
    ${5}         | ${'Junk Email'}
    ${6}         | ${'Junk Email'}
    ${9}         | ${'Junk Email'}
  `('SCL $scl → $folder', ({ scl, folder }) => {
    expect(folderFor(scl)).toBe(folder);
  });
});
