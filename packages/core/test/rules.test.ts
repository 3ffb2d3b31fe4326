import { evaluateRules, ruleApplies, type RuleMessage, type TransportRule } from '@relaylab/core';

/**
 * Mail flow rules (New-TransportRule parameter names). Exchange ANDs the condition kinds a rule
 * names, ORs the values inside one condition, and skips the rule when any exception holds.
 * docs/exchange.md, "The tenant-connector attack" for the mitigation rule.
 */

const EOP_IP = '127.0.0.20';
const DEVICE_IP = '127.0.0.50';

interface Msg {
  fromScope?: RuleMessage['fromScope'];
  sender?: string;
  recipients?: string[];
  clientIp?: string;
  headers?: Record<string, string | string[]>;
}

function message({
  fromScope = 'NotInOrganization',
  sender = 'x@tailspin.example',
  recipients = ['bob@contoso.example'],
  clientIp,
  headers = {},
}: Msg = {}): RuleMessage {
  return {
    fromScope,
    senderDomain: sender.slice(sender.lastIndexOf('@') + 1),
    recipientDomains: recipients.map((r) => r.slice(r.lastIndexOf('@') + 1)),
    clientIp,
    header: (name) => {
      const hit = Object.entries(headers).find(([k]) => k.toLowerCase() === name.toLowerCase());
      return hit ? ([] as string[]).concat(hit[1]) : [];
    },
  };
}

describe('ruleApplies: conditions AND across kinds, OR within a list; exceptions', () => {
  const rule = (extra: Partial<TransportRule>): TransportRule => ({ Name: 'r', ...extra });

  test.each`
    case                                                              | r                                                                                                          | m                                                                         | applies
    ${'no conditions: every message'}                                 | ${rule({})}                                                                                                | ${message()}                                                              | ${true}
    ${'SenderDomainIs: one of the list (OR)'}                         | ${rule({ SenderDomainIs: ['fabrikam.example', 'tailspin.example'] })}                                      | ${message()}                                                              | ${true}
    ${'SenderDomainIs: none of the list'}                             | ${rule({ SenderDomainIs: ['fabrikam.example'] })}                                                          | ${message()}                                                              | ${false}
    ${'SenderDomainIs: domain match is case-insensitive'}             | ${rule({ SenderDomainIs: ['Tailspin.Example'] })}                                                          | ${message()}                                                              | ${true}
    ${'RecipientDomainIs: any recipient (OR over recipients)'}        | ${rule({ RecipientDomainIs: ['fabrikam.example'] })}                                                       | ${message({ recipients: ['bob@contoso.example', 'f@fabrikam.example'] })} | ${true}
    ${'SenderDomainIs AND RecipientDomainIs: both hold'}              | ${rule({ SenderDomainIs: ['tailspin.example'], RecipientDomainIs: ['contoso.example'] })}                  | ${message()}                                                              | ${true}
    ${'SenderDomainIs AND RecipientDomainIs: one fails'}              | ${rule({ SenderDomainIs: ['tailspin.example'], RecipientDomainIs: ['fabrikam.example'] })}                 | ${message()}                                                              | ${false}
    ${'FromScope NotInOrganization, external sender'}                 | ${rule({ FromScope: 'NotInOrganization' })}                                                                | ${message()}                                                              | ${true}
    ${'FromScope NotInOrganization, internal sender'}                 | ${rule({ FromScope: 'NotInOrganization' })}                                                                | ${message({ fromScope: 'InOrganization' })}                               | ${false}
    ${'FromScope InOrganization, internal sender'}                    | ${rule({ FromScope: 'InOrganization' })}                                                                   | ${message({ fromScope: 'InOrganization' })}                               | ${true}
    ${'SenderIPRanges: single address'}                               | ${rule({ SenderIPRanges: [EOP_IP] })}                                                                      | ${message({ clientIp: EOP_IP })}                                          | ${true}
    ${'SenderIPRanges: CIDR holds the address'}                       | ${rule({ SenderIPRanges: ['127.0.0.16/28'] })}                                                             | ${message({ clientIp: '127.0.0.31' })}                                    | ${true}
    ${'SenderIPRanges: CIDR does not hold the address'}               | ${rule({ SenderIPRanges: ['127.0.0.16/28'] })}                                                             | ${message({ clientIp: '127.0.0.32' })}                                    | ${false}
    ${'SenderIPRanges: dash range'}                                   | ${rule({ SenderIPRanges: ['127.0.0.1-127.0.0.9'] })}                                                       | ${message({ clientIp: '127.0.0.9' })}                                     | ${true}
    ${'SenderIPRanges: IPv4-mapped IPv6 client address'}              | ${rule({ SenderIPRanges: ['127.0.0.0/24'] })}                                                              | ${message({ clientIp: '::ffff:127.0.0.20' })}                             | ${true}
    ${'SenderIPRanges: no client IP (a submission)'}                  | ${rule({ SenderIPRanges: ['0.0.0.0/0'] })}                                                                 | ${message()}                                                              | ${false}
    ${'HeaderContainsWords: substring, case-insensitive'}             | ${rule({ HeaderContainsMessageHeader: 'Subject', HeaderContainsWords: ['INVOICE'] })}                      | ${message({ headers: { subject: 'Your invoice 42' } })}                   | ${true}
    ${'HeaderContainsWords: header absent'}                           | ${rule({ HeaderContainsMessageHeader: 'Subject', HeaderContainsWords: ['invoice'] })}                      | ${message()}                                                              | ${false}
    ${'HeaderMatchesPatterns: regex, case-insensitive'}               | ${rule({ HeaderMatchesMessageHeader: 'X-OriginatorOrg', HeaderMatchesPatterns: ['^contoso\\.example$'] })} | ${message({ headers: { 'x-originatororg': 'CONTOSO.EXAMPLE' } })}         | ${true}
    ${'HeaderMatchesPatterns: anchored regex rejects a suffix match'} | ${rule({ HeaderMatchesMessageHeader: 'X-OriginatorOrg', HeaderMatchesPatterns: ['^contoso\\.example$'] })} | ${message({ headers: { 'X-OriginatorOrg': 'evilcontoso.example' } })}     | ${false}
    ${'HeaderMatchesPatterns: unanchored regex matches anywhere'}     | ${rule({ HeaderMatchesMessageHeader: 'X-OriginatorOrg', HeaderMatchesPatterns: ['contoso'] })}             | ${message({ headers: { 'X-OriginatorOrg': 'evilcontoso.example' } })}     | ${true}
    ${'HeaderMatchesPatterns: any of several values of the header'}   | ${rule({ HeaderMatchesMessageHeader: 'X-Tag', HeaderMatchesPatterns: ['^b$'] })}                           | ${message({ headers: { 'X-Tag': ['a', 'b'] } })}                          | ${true}
    ${'HeaderMatchesMessageHeader without patterns never matches'}    | ${rule({ HeaderMatchesMessageHeader: 'X-Tag' })}                                                           | ${message({ headers: { 'X-Tag': 'a' } })}                                 | ${false}
    ${'exception: ExceptIfSenderDomainIs holds → skipped'}            | ${rule({ FromScope: 'NotInOrganization', ExceptIfSenderDomainIs: ['tailspin.example'] })}                  | ${message()}                                                              | ${false}
    ${'exception: ExceptIfSenderDomainIs does not hold → applies'}    | ${rule({ FromScope: 'NotInOrganization', ExceptIfSenderDomainIs: ['fabrikam.example'] })}                  | ${message()}                                                              | ${true}
    ${'exceptions are ORed: one of two holds → skipped'}              | ${rule({ ExceptIfSenderDomainIs: ['fabrikam.example'], ExceptIfRecipientDomainIs: ['contoso.example'] })}  | ${message()}                                                              | ${false}
    ${'ExceptIfFromScope InOrganization, internal'}                   | ${rule({ ExceptIfFromScope: 'InOrganization' })}                                                           | ${message({ fromScope: 'InOrganization' })}                               | ${false}
    ${'ExceptIfSenderIPRanges'}                                       | ${rule({ ExceptIfSenderIPRanges: ['127.0.0.0/24'] })}                                                      | ${message({ clientIp: DEVICE_IP })}                                       | ${false}
    ${'ExceptIfHeaderContainsWords'}                                  | ${rule({ ExceptIfHeaderContainsMessageHeader: 'Subject', ExceptIfHeaderContainsWords: ['[ok]'] })}         | ${message({ headers: { Subject: 'report [OK]' } })}                       | ${false}
    ${'ExceptIfHeaderMatchesPatterns, header absent → applies'}       | ${rule({ ExceptIfHeaderMatchesMessageHeader: 'X-OriginatorOrg', ExceptIfHeaderMatchesPatterns: ['.*'] })}  | ${message()}                                                              | ${true}
  `('$case → $applies', ({ r, m, applies }) => {
    expect(ruleApplies(r, m)).toBe(applies);
  });
});

describe('evaluateRules: order, state and actions', () => {
  const m = message();

  test('rules run in Priority order (lower first), then as listed; each firing is reported with its actions', () => {
    const outcome = evaluateRules(
      [
        { Name: 'third', Priority: 2, SetHeaderName: 'X-Order', SetHeaderValue: '3' },
        { Name: 'first', Priority: 0, SetHeaderName: 'X-Order', SetHeaderValue: '1' },
        { Name: 'second', Priority: 1, SetHeaderName: 'X-Order', SetHeaderValue: '2' },
      ],
      m,
    );
    expect(outcome.fired.map((f) => f.rule)).toEqual(['first', 'second', 'third']);
    expect(outcome.setHeaders.map((s) => s.value)).toEqual(['1', '2', '3']);
    expect(outcome.fired[0]).toEqual({ rule: 'first', actions: ['SetHeader X-Order: 1'] });
  });

  test('without Priority the list order is the priority', () => {
    const outcome = evaluateRules(
      [
        { Name: 'a', SetSCL: 3 },
        { Name: 'b', SetSCL: 7 },
      ],
      m,
    );
    expect(outcome.fired.map((f) => f.rule)).toEqual(['a', 'b']);
    expect(outcome.scl).toEqual({ value: 7, rule: 'b' }); // the last SetSCL wins
  });

  test.each`
    case                                                 | rules                                                                                                                     | fired                | deletedBy    | rejectBy     | scl
    ${'State Disabled never fires'}                      | ${[{ Name: 'off', State: 'Disabled', DeleteMessage: true }, { Name: 'on', State: 'Enabled', SetSCL: 5 }]}                 | ${['on']}            | ${undefined} | ${undefined} | ${5}
    ${'StopRuleProcessing stops later rules'}            | ${[{ Name: 'stop', SetSCL: -1, StopRuleProcessing: true }, { Name: 'later', DeleteMessage: true }]}                       | ${['stop']}          | ${undefined} | ${undefined} | ${-1}
    ${'a rule that does not apply does not stop others'} | ${[{ Name: 'stop', SenderDomainIs: ['fabrikam.example'], StopRuleProcessing: true }, { Name: 'later', SetSCL: 6 }]}       | ${['later']}         | ${undefined} | ${undefined} | ${6}
    ${'DeleteMessage stops processing'}                  | ${[{ Name: 'scl', SetSCL: 2 }, { Name: 'delete', DeleteMessage: true }, { Name: 'later', SetSCL: 9 }]}                    | ${['scl', 'delete']} | ${'delete'}  | ${undefined} | ${2}
    ${'Reject stops processing'}                         | ${[{ Name: 'reject', RejectMessageReasonText: 'No' }, { Name: 'later', DeleteMessage: true }]}                            | ${['reject']}        | ${undefined} | ${'reject'}  | ${undefined}
    ${'Priority decides which of delete/reject wins'}    | ${[{ Name: 'reject', Priority: 1, RejectMessageReasonText: 'No' }, { Name: 'delete', Priority: 0, DeleteMessage: true }]} | ${['delete']}        | ${'delete'}  | ${undefined} | ${undefined}
  `('$case', ({ rules, fired, deletedBy, rejectBy, scl }) => {
    const outcome = evaluateRules(rules, m);
    expect(outcome.fired.map((f) => f.rule)).toEqual(fired);
    expect(outcome.deletedBy).toBe(deletedBy);
    expect(outcome.reject?.rule).toBe(rejectBy);
    expect(outcome.scl?.value).toBe(scl);
  });

  test.each`
    case                                   | rule                                                                                                    | code   | enhanced     | text
    ${'reason text only → 5.7.1'}          | ${{ Name: 'r', RejectMessageReasonText: 'Go away' }}                                                    | ${550} | ${'5.7.1'}   | ${'Go away'}
    ${'enhanced code only → default text'} | ${{ Name: 'r', RejectMessageEnhancedStatusCode: '5.7.900' }}                                            | ${550} | ${'5.7.900'} | ${'Delivery not authorized, message refused'}
    ${'both'}                              | ${{ Name: 'r', RejectMessageReasonText: 'Not from there', RejectMessageEnhancedStatusCode: '5.7.901' }} | ${550} | ${'5.7.901'} | ${'Not from there'}
  `('Reject: $case', ({ rule, code, enhanced, text }) => {
    const outcome = evaluateRules([rule], m);
    expect(outcome.reject).toEqual({ rule: 'r', reply: { code, enhanced, text } });
    expect(outcome.fired[0].actions).toEqual([`Reject ${enhanced}`]);
  });

  test('SetSCL, SetHeader and RouteMessageOutboundConnector are reported', () => {
    const outcome = evaluateRules(
      [
        { Name: 'bypass', SetSCL: -1, SetHeaderName: 'X-Lab-Bypass', SetHeaderValue: 'yes' },
        { Name: 'route', RecipientDomainIs: ['contoso.example'], RouteMessageOutboundConnector: 'Via filter' },
        { Name: 'empty header', SetHeaderName: 'X-Empty' },
      ],
      m,
    );
    expect(outcome.scl).toEqual({ value: -1, rule: 'bypass' });
    expect(outcome.setHeaders).toEqual([
      { name: 'X-Lab-Bypass', value: 'yes', rule: 'bypass' },
      { name: 'X-Empty', value: '', rule: 'empty header' },
    ]);
    expect(outcome.route).toEqual({ connector: 'Via filter', rule: 'route' });
    expect(outcome.fired).toEqual([
      { rule: 'bypass', actions: ['SetSCL -1', 'SetHeader X-Lab-Bypass: yes'] },
      { rule: 'route', actions: ['RouteMessageOutboundConnector Via filter'] },
      { rule: 'empty header', actions: ['SetHeader X-Empty: '] },
    ]);
  });

  test('no rules: nothing fires', () => {
    expect(evaluateRules(undefined, m)).toEqual({ fired: [], setHeaders: [] });
    expect(evaluateRules([], m)).toEqual({ fired: [], setHeaders: [] });
  });
});

describe('the field attack mitigation on the on-premises server', () => {
  // "Mail arriving from EOP whose X-OriginatorOrg is not my tenant → delete"
  const MITIGATION: TransportRule = {
    Name: 'Delete foreign-tenant mail from EOP',
    SenderIPRanges: [EOP_IP],
    ExceptIfHeaderMatchesMessageHeader: 'X-OriginatorOrg',
    ExceptIfHeaderMatchesPatterns: ['^contoso\\.example$'],
    DeleteMessage: true,
  };

  test.each`
    case                                                   | clientIp        | originatorOrg            | fromScope              | deleted
    ${'foreign tenant woodgrove through EOP (the attack)'} | ${EOP_IP}       | ${'woodgrove.example'}   | ${'InOrganization'}    | ${true}
    ${'own tenant contoso through EOP'}                    | ${EOP_IP}       | ${'contoso.example'}     | ${'InOrganization'}    | ${false}
    ${'own tenant, header in another case'}                | ${EOP_IP}       | ${'Contoso.Example'}     | ${'InOrganization'}    | ${false}
    ${'look-alike tenant evilcontoso.example'}             | ${EOP_IP}       | ${'evilcontoso.example'} | ${'InOrganization'}    | ${true}
    ${'through EOP without X-OriginatorOrg'}               | ${EOP_IP}       | ${undefined}             | ${'NotInOrganization'} | ${true}
    ${'device relaying by IP (no X-OriginatorOrg)'}        | ${DEVICE_IP}    | ${undefined}             | ${'NotInOrganization'} | ${false}
    ${'Internet mail arriving directly (forged header)'}   | ${'127.0.0.99'} | ${'woodgrove.example'}   | ${'NotInOrganization'} | ${false}
  `('$case → deleted $deleted', ({ clientIp, originatorOrg, fromScope, deleted }) => {
    const m = message({ clientIp, fromScope, sender: 'ceo@contoso.example', headers: originatorOrg ? { 'X-OriginatorOrg': originatorOrg } : {} });
    const outcome = evaluateRules([MITIGATION], m);
    expect(outcome.deletedBy).toBe(deleted ? MITIGATION.Name : undefined);
    expect(outcome.fired).toEqual(deleted ? [{ rule: MITIGATION.Name, actions: ['DeleteMessage'] }] : []);
  });

  // The field report's first version (docs/exchange.md), "sender outside the organization, except X-OriginatorOrg is mine":
  // it also deletes the side-effect victims (devices, Internet mail arriving directly).
  const SEED_RULE: TransportRule = {
    Name: 'Seed: outside the organization except my tenant',
    FromScope: 'NotInOrganization',
    ExceptIfHeaderMatchesMessageHeader: 'X-OriginatorOrg',
    ExceptIfHeaderMatchesPatterns: ['^contoso\\.example$'],
    DeleteMessage: true,
  };

  test.each`
    case                                              | clientIp        | originatorOrg          | fromScope              | deleted
    ${'attack promoted to internal by hybrid trust'}  | ${EOP_IP}       | ${'woodgrove.example'} | ${'InOrganization'}    | ${false}
    ${'attack classified as outside'}                 | ${EOP_IP}       | ${'woodgrove.example'} | ${'NotInOrganization'} | ${true}
    ${'Internet mail via EOP of my tenant'}           | ${EOP_IP}       | ${'contoso.example'}   | ${'NotInOrganization'} | ${false}
    ${'side effect: a device relaying by IP'}         | ${DEVICE_IP}    | ${undefined}           | ${'NotInOrganization'} | ${true}
    ${'side effect: Internet mail arriving directly'} | ${'127.0.0.99'} | ${undefined}           | ${'NotInOrganization'} | ${true}
  `('$case → deleted $deleted', ({ clientIp, originatorOrg, fromScope, deleted }) => {
    const m = message({ clientIp, fromScope, headers: originatorOrg ? { 'X-OriginatorOrg': originatorOrg } : {} });
    expect(evaluateRules([SEED_RULE], m).deletedBy).toBe(deleted ? SEED_RULE.Name : undefined);
  });
});

describe('SenderAddressLocation: sender conditions read the From header by default, as Exchange does', () => {
  const message = (envelope: string, header: string | undefined): RuleMessage => ({
    fromScope: 'NotInOrganization',
    senderDomain: envelope,
    headerSenderDomain: header,
    recipientDomains: ['contoso.example'],
    header: () => [],
  });
  const rule = (location?: 'Header' | 'Envelope' | 'HeaderOrEnvelope'): TransportRule => ({
    Name: 'r',
    SenderDomainIs: ['fabrikam.example'],
    SenderAddressLocation: location,
    SetSCL: 5,
  });
  test.each`
    location              | envelope              | header                | fires
    ${undefined}          | ${'tailspin.example'} | ${'fabrikam.example'} | ${true}
    ${undefined}          | ${'fabrikam.example'} | ${'tailspin.example'} | ${false}
    ${'Header'}           | ${'fabrikam.example'} | ${undefined}          | ${true}
    ${'Envelope'}         | ${'fabrikam.example'} | ${'tailspin.example'} | ${true}
    ${'Envelope'}         | ${'tailspin.example'} | ${'fabrikam.example'} | ${false}
    ${'HeaderOrEnvelope'} | ${'tailspin.example'} | ${'fabrikam.example'} | ${true}
    ${'HeaderOrEnvelope'} | ${'fabrikam.example'} | ${'tailspin.example'} | ${true}
  `('$location: MAIL FROM @$envelope, From @$header → fires $fires', ({ location, envelope, header, fires }) => {
    expect(ruleApplies(rule(location), message(envelope, header))).toBe(fires);
  });
});
