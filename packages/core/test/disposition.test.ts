import {
  accept,
  DEFAULT_ROUTE,
  nodeContext,
  planDisposition,
  type AcceptedRecipient,
  type Destination,
  type MessageOutcome,
  type NodeSpec,
  type Organization,
  type OutboundConnector,
  type RulesOutcome,
} from '@relaylab/core';

/** docs/exchange.md, "Routing choices": what an accepted message becomes, before any of it happens. */

const ORGANIZATIONS: Record<string, Organization> = { contoso: { domains: ['contoso.example'] } };

const TO_ONPREM: OutboundConnector = {
  Name: 'Outbound to 6f2a',
  ConnectorType: 'OnPremises',
  RecipientDomains: ['contoso.example'],
  UseMXRecord: false,
  SmartHosts: ['mail.contoso.example'],
  CloudServicesMailEnabled: true,
};
const GATEWAY: OutboundConnector = {
  Name: 'Via gateway',
  ConnectorType: 'Partner',
  RecipientDomains: ['*'],
  UseMXRecord: false,
  SmartHosts: ['gw.contoso.example'],
  IsTransportRuleScoped: true,
};
const DISABLED_GATEWAY: OutboundConnector = { ...GATEWAY, Name: 'Disabled gateway', Enabled: false };

const EOP: NodeSpec = {
  role: 'exchange-online',
  hostname: 'contoso-com.mail.protection.outlook.example',
  address: '127.0.0.20',
  organization: 'contoso',
  mailboxes: ['alice@contoso.example'],
  outboundConnectors: [TO_ONPREM, GATEWAY, DISABLED_GATEWAY],
  addressRewriteEntries: [{ InternalAddress: 'contoso.example', ExternalAddress: 'contoso.com' }],
};
const PARTNER: NodeSpec = { role: 'partner', hostname: 'mx.fabrikam.example', address: '127.0.0.30', mailboxes: ['frank@fabrikam.example'] };

const ctx = nodeContext('eop', EOP, ORGANIZATIONS);
const RAW = Buffer.from('From: <carol@contoso.example>\r\nX-MS-Exchange-Organization-AuthAs: Internal\r\nSubject: hi\r\n\r\nbody\r\n');

const outcome = (over: { scl?: number; deletedBy?: string; route?: RulesOutcome['route'] } = {}): MessageOutcome => ({
  raw: RAW,
  edits: [],
  rules: { fired: [], setHeaders: [], route: over.route },
  scl: over.scl,
  verdict: accept('test'),
  deletedBy: over.deletedBy,
});

const route = (name: string) => ctx.routes.find((r) => r.connector === name)!;
const to = (destination: Destination, reason = `why ${destination.kind}`): AcceptedRecipient => ({ destination, reason });
const recipients = (entries: Array<[string, AcceptedRecipient]>) => new Map(entries);
const DEFAULT_RELAY = (): Destination => ({ kind: 'relay', route: DEFAULT_ROUTE });

describe('planDisposition', () => {
  test('a rule that deletes the message: nothing is delivered, queued or bounced', () => {
    const plan = planDisposition(
      ctx,
      'carol@contoso.example',
      outcome({ deletedBy: 'drop' }),
      recipients([['alice@contoso.example', to({ kind: 'local', mailbox: 'alice@contoso.example' })]]),
    );
    expect(plan).toEqual({ deleted: { rule: 'drop', recipients: ['alice@contoso.example'] }, local: [], unroutable: [], retargeted: [], relays: [] });
  });

  test.each`
    node       | scl          | folder
    ${EOP}     | ${undefined} | ${'Inbox'}
    ${EOP}     | ${4}         | ${'Inbox'}
    ${EOP}     | ${5}         | ${'Junk Email'}
    ${EOP}     | ${9}         | ${'Junk Email'}
    ${PARTNER} | ${9}         | ${'Inbox'}
  `('mailbox folder on $node.role with SCL $scl → $folder', ({ node, scl, folder }) => {
    const here = nodeContext('n', node, ORGANIZATIONS);
    const plan = planDisposition(
      here,
      'x@example.net',
      outcome({ scl }),
      recipients([['Alice@contoso.example', to({ kind: 'local', mailbox: 'alice@contoso.example' })]]),
    );
    expect(plan.local).toEqual([{ rcpt: 'Alice@contoso.example', mailbox: 'alice@contoso.example', folder }]);
  });

  test('an unroutable recipient is bounced with its reply, formatted, and its reason', () => {
    const plan = planDisposition(
      ctx,
      'x@example.net',
      outcome(),
      recipients([['dan@nowhere.example', to({ kind: 'unroutable', reply: { code: 550, enhanced: '5.4.4', text: 'no route' } }, 'no connector')]]),
    );
    expect(plan.unroutable).toEqual([{ rcpt: 'dan@nowhere.example', reply: '550 5.4.4 no route', reason: 'no connector' }]);
    expect(plan.relays).toEqual([]);
  });

  test('copies are grouped per connector and next hop: smart hosts once, MX per recipient domain', () => {
    const hybrid = to({ kind: 'relay', route: route('Outbound to 6f2a') });
    const plan = planDisposition(
      ctx,
      'carol@contoso.example',
      outcome(),
      recipients([
        ['bob@contoso.example', hybrid],
        ['ben@contoso.example', hybrid],
        ['dave@fabrikam.example', to(DEFAULT_RELAY())],
        ['erin@tailspin.example', to(DEFAULT_RELAY())],
        ['fred@fabrikam.example', to(DEFAULT_RELAY())],
      ]),
    );
    expect(plan.relays.map((r) => [r.nextHop, r.recipients])).toEqual([
      ['Outbound to 6f2a|mail.contoso.example', ['bob@contoso.example', 'ben@contoso.example']],
      [`${DEFAULT_ROUTE.connector}|fabrikam.example`, ['dave@fabrikam.example', 'fred@fabrikam.example']],
      [`${DEFAULT_ROUTE.connector}|tailspin.example`, ['erin@tailspin.example']],
    ]);
  });

  test('a retargeted recipient travels under its routing address, and the retarget is recorded', () => {
    const plan = planDisposition(
      ctx,
      'x@example.net',
      outcome(),
      recipients([
        [
          'alice@contoso.example',
          to({ kind: 'relay', route: route('Outbound to 6f2a'), retarget: 'alice@contoso.mail.onmicrosoft.example' }, 'remote mailbox'),
        ],
      ]),
    );
    expect(plan.retargeted).toEqual([{ rcpt: 'alice@contoso.example', to: 'alice@contoso.mail.onmicrosoft.example', reason: 'remote mailbox' }]);
    expect(plan.relays[0].recipients).toEqual(['alice@contoso.mail.onmicrosoft.example']);
  });

  test.each`
    case                                               | rule                                                  | recipient                  | connector
    ${'a rule route takes mail leaving the org'}       | ${{ connector: 'Via gateway', rule: 'via-gw' }}       | ${'dave@fabrikam.example'} | ${'Via gateway'}
    ${'a rule route leaves internal recipients alone'} | ${{ connector: 'Via gateway', rule: 'via-gw' }}       | ${'bob@contoso.example'}   | ${'Outbound to 6f2a'}
    ${'a rule naming a disabled connector is ignored'} | ${{ connector: 'Disabled gateway', rule: 'via-off' }} | ${'dave@fabrikam.example'} | ${DEFAULT_ROUTE.connector}
    ${'a rule naming no connector we have is ignored'} | ${{ connector: 'Nonexistent', rule: 'via-none' }}     | ${'dave@fabrikam.example'} | ${DEFAULT_ROUTE.connector}
    ${'no rule route'}                                 | ${undefined}                                          | ${'dave@fabrikam.example'} | ${DEFAULT_ROUTE.connector}
  `('$case → $connector', ({ rule, recipient, connector }) => {
    const destination = recipient.endsWith('@contoso.example') ? { kind: 'relay' as const, route: route('Outbound to 6f2a') } : DEFAULT_RELAY();
    const plan = planDisposition(ctx, 'carol@contoso.example', outcome({ route: rule }), recipients([[recipient, to(destination)]]));
    expect(plan.relays.map((r) => r.route.connector)).toEqual([connector]);
    if (connector === 'Via gateway') expect(plan.relays[0].nextHop).toBe('Via gateway|gw.contoso.example');
  });

  test('addresses are rewritten only for copies that leave the organization altogether', () => {
    const plan = planDisposition(
      ctx,
      'carol@contoso.example',
      outcome(),
      recipients([
        ['bob@contoso.example', to({ kind: 'relay', route: route('Outbound to 6f2a') })],
        ['dave@fabrikam.example', to(DEFAULT_RELAY())],
      ]),
    );
    const [inside, outside] = plan.relays;
    expect(inside.from).toBe('carol@contoso.example');
    expect(outside.from).toBe('carol@contoso.com');
    expect(outside.raw.toString()).toContain('From: <carol@contoso.com>');
    expect(inside.raw.toString()).toContain('From: <carol@contoso.example>');
  });

  test('organization headers cross as cross-premises headers on a CloudServicesMailEnabled connector, and nowhere else', () => {
    const plan = planDisposition(
      ctx,
      'carol@contoso.example',
      outcome(),
      recipients([
        ['bob@contoso.example', to({ kind: 'relay', route: route('Outbound to 6f2a') })],
        ['dave@fabrikam.example', to(DEFAULT_RELAY())],
      ]),
    );
    const [hybrid, internetCopy] = plan.relays.map((r) => r.raw.toString());
    expect(hybrid).toContain('X-MS-Exchange-CrossPremises-AuthAs: Internal');
    expect(hybrid).not.toContain('X-MS-Exchange-Organization-AuthAs');
    expect(internetCopy).not.toMatch(/X-MS-Exchange-(Organization|CrossPremises)-AuthAs/);
    // The edits made to each copy are returned with it, for the trace.
    expect(plan.relays[1].edits.map((e) => `${e.op} ${e.name}`)).toEqual(
      expect.arrayContaining(['remove X-MS-Exchange-Organization-AuthAs', 'remove From', 'prepend From']),
    );
  });
});
