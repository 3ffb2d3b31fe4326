import {
  applyEdits,
  classifySession,
  classifySubmission,
  DEFAULT_ROUTE,
  HEADER,
  headerEnd,
  headerPattern,
  headerValues,
  nodeContext,
  outboundEdits,
  parseHeaders,
  processMessage,
  removalsMatching,
  tenantIdOf,
  type Classification,
  type HeaderEdit,
  type MessageInput,
  type MessageOutcome,
  type NodeContext,
  type NodeSpec,
  type Organization,
  type TransportRule,
} from '@relaylab/core';
import { DEFAULT_FRONTEND, EOP, EOP_CERT, EOP_IP, FROM_EDGE, ONPREM, ONPREM_CERT, ORGS } from './hybrid-fixtures';

/**
 * docs/exchange.md, "Header firewall and cross-premises headers" and "The tenant-connector
 * attack". processMessage and outboundEdits work on raw bytes; every edit is traced with a reason
 * and the body is never touched.
 */

const NOW = new Date('2026-03-02T10:00:00.000Z');
const INTERNET_IP = '127.0.0.99';

const ORGS_WITH_TENANT_ID: Record<string, Organization> = { contoso: { ...ORGS.contoso, tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47' } };

const WOODGROVE_EOP: NodeSpec = {
  role: 'exchange-online',
  hostname: 'woodgrove-com.mail.protection.outlook.example',
  address: EOP_IP, // every tenant's EOP uses the same addresses [doc]
  organization: 'woodgrove',
  // the attacker's connector pointing at contoso's hybrid endpoint
  outboundConnectors: [
    {
      Name: 'To contoso on-premises',
      ConnectorType: 'OnPremises',
      RecipientDomains: ['contoso.example'],
      SmartHosts: ['mail.contoso.example'],
      CloudServicesMailEnabled: true,
    },
  ],
};

const APPLIANCE: NodeSpec = { role: 'appliance', hostname: 'filter.contoso.example', address: '127.0.0.40', stripHeaders: ['X-MS-Exchange-*'] };

const eop = (orgs = ORGS) => nodeContext('eop', EOP, orgs);
const onprem = () => nodeContext('onprem', ONPREM, ORGS);

/** Classifications as the listener would compute them from the wire. */
const SESSIONS = {
  eopAnonymous: () => classifySession({ ctx: eop(), secure: true }),
  eopPartner: () =>
    classifySession({
      ctx: eop(),
      inbound: { connector: 'x', connectorType: 'Partner', matchedBy: 'sender domain fabrikam.example', verdict: { outcome: 'accept', reason: '' } },
      secure: true,
    }),
  eopHybrid: () =>
    classifySession({
      ctx: eop(),
      inbound: {
        connector: 'Inbound from 6f2a',
        connectorType: 'OnPremises',
        matchedBy: 'certificate mail.contoso.example',
        verdict: { outcome: 'accept', reason: '' },
      },
      clientCertificate: ONPREM_CERT,
      secure: true,
    }),
  onpremAnonymous: () => classifySession({ ctx: onprem(), receiveConnector: DEFAULT_FRONTEND, secure: false }),
  onpremHybrid: () => classifySession({ ctx: onprem(), receiveConnector: DEFAULT_FRONTEND, clientCertificate: EOP_CERT, secure: true }),
  onpremFromEdge: () => classifySession({ ctx: onprem(), receiveConnector: FROM_EDGE, secure: true }),
};

/** A body that looks like headers, holds non-ASCII bytes, folded-looking lines and a lone dot. */
const BODY = Buffer.concat([
  Buffer.from('\r\nX-MS-Exchange-Organization-AuthAs: Internal\r\nX-MS-Exchange-CrossPremises-AuthAs: Internal\r\n continued\r\n\r\nCaf\u00e9 ', 'utf8'),
  Buffer.from([0xff, 0xfe, 0x00, 0x80]),
  Buffer.from('\r\n.\r\nlast line without newline', 'latin1'),
]);

function message(headers: string[], body: Buffer = BODY): Buffer {
  return Buffer.concat([Buffer.from(headers.map((h) => `${h}\r\n`).join(''), 'latin1'), body]);
}
const BASIC = [
  'Received: from mx.tailspin.example (127.0.0.99) by somewhere',
  'From: <someone@tailspin.example>',
  'To: <bob@contoso.example>',
  'Subject: hello',
  'Message-ID: <1@tailspin.example>',
];

const bodyOf = (raw: Buffer) => raw.subarray(headerEnd(raw));
const names = (raw: Buffer) => parseHeaders(raw).map((f) => f.name.toLowerCase());
const orgHeaders = (raw: Buffer) => names(raw).filter((n) => n.startsWith('x-ms-exchange-organization-'));
const crossPremises = (raw: Buffer) => names(raw).filter((n) => n.startsWith('x-ms-exchange-crosspremises-'));

/** accept, delete (accepted, dropped by a rule) or reject (refused by a rule). */
const dispositionOf = (out: MessageOutcome) => (out.verdict.outcome === 'refuse' ? 'reject' : out.deletedBy ? 'delete' : 'accept');

function run(ctx: NodeContext, classification: Classification | undefined, raw: Buffer, extra: Partial<MessageInput> = {}): MessageOutcome {
  const input: MessageInput = {
    ctx,
    classification,
    raw,
    from: 'someone@tailspin.example',
    recipients: ['bob@contoso.example'],
    clientIp: INTERNET_IP,
    helo: 'mx.tailspin.example',
    now: NOW,
    networkMessageId: 'b7f5c0de-0000-4000-8000-000000000001',
    ...extra,
  };
  const out = processMessage(input);
  // Invariants of every operation: the body is byte-identical, every edit has a reason, and the
  // edits listed replay to exactly the bytes produced (nothing changes unlisted).
  expect(bodyOf(out.raw).equals(bodyOf(raw))).toBe(true);
  for (const e of out.edits) expect(e.reason).toMatch(/\S/);
  expect(applyEdits(raw, out.edits).equals(out.raw)).toBe(true);
  return out;
}

const edit = (edits: HeaderEdit[], op: HeaderEdit['op'], name: string) => edits.filter((e) => e.op === op && e.name.toLowerCase() === name.toLowerCase());

// ---------------------------------------------------------------------------------------------

describe('the header firewall (rules 1 and 3): untrusted sources cannot write organization headers', () => {
  const FORGED = [
    ...BASIC,
    'X-MS-Exchange-Organization-AuthAs: Internal',
    'x-ms-exchange-organization-scl: -1',
    'X-MS-Exchange-Organization-Custom: first',
    '\tfolded continuation',
    'X-MS-Exchange-Organization-Custom: second',
    'X-MS-Exchange-CrossPremises-AuthAs: Internal',
    'X-MS-Exchange-CrossPremises-MessageDirectionality: Originating',
    '',
  ];

  test.each`
    case                                | node        | session              | authAs         | scl
    ${'anonymous Internet mail at EOP'} | ${'eop'}    | ${'eopAnonymous'}    | ${'Anonymous'} | ${'1'}
    ${'Partner connector at EOP'}       | ${'eop'}    | ${'eopPartner'}      | ${'Partner'}   | ${'1'}
    ${'anonymous mail on premises'}     | ${'onprem'} | ${'onpremAnonymous'} | ${'Anonymous'} | ${undefined}
  `('$case: forged organization headers removed, cross-premises headers dropped, own stamps written', ({ node, session, authAs, scl }) => {
    const ctx = node === 'eop' ? eop() : onprem();
    const c = SESSIONS[session as keyof typeof SESSIONS]();
    const out = run(ctx, c, message(FORGED));

    expect(crossPremises(out.raw)).toEqual([]);
    expect(headerValues(out.raw, 'X-MS-Exchange-Organization-Custom')).toEqual([]);
    expect(headerValues(out.raw, HEADER.authAs)).toEqual([authAs]);
    expect(headerValues(out.raw, HEADER.authSource)).toEqual([ctx.spec.hostname]);
    expect(headerValues(out.raw, HEADER.directionality)).toEqual(['Incoming']);
    expect(headerValues(out.raw, HEADER.scl)).toEqual(scl === undefined ? [] : [scl]);
    expect(out.authAs).toBe(authAs);
    expect(out.authSource).toBe(ctx.spec.hostname);

    // one removal per distinct forged name (case-insensitive), each with the firewall's reason
    const firewall = out.edits.filter((e) => /^header firewall/.test(e.reason));
    expect(firewall.map((e) => e.name)).toEqual(['X-MS-Exchange-Organization-AuthAs', 'x-ms-exchange-organization-scl', 'X-MS-Exchange-Organization-Custom']);
    expect(firewall.every((e) => e.op === 'remove' && e.reason.includes(`from an untrusted (${authAs}) source`))).toBe(true);
    const dropped = out.edits.filter((e) => /^cross-premises headers dropped/.test(e.reason));
    expect(dropped.map((e) => [e.op, e.name])).toEqual([
      ['remove', 'X-MS-Exchange-CrossPremises-AuthAs'],
      ['remove', 'X-MS-Exchange-CrossPremises-MessageDirectionality'],
    ]);
    // the body's header-looking lines are not headers and stay
    expect(bodyOf(out.raw).toString('latin1')).toContain('X-MS-Exchange-Organization-AuthAs: Internal');
  });

  test('rules see the message after the firewall: a forged AuthAs does not satisfy a header rule', () => {
    const ctx = nodeContext(
      'onprem',
      {
        ...ONPREM,
        transportRules: [
          {
            Name: 'internal only',
            HeaderMatchesMessageHeader: HEADER.authAs,
            HeaderMatchesPatterns: ['^Internal$'],
            SetHeaderName: 'X-Seen',
            SetHeaderValue: 'internal',
          },
        ],
      },
      ORGS,
    );
    const out = run(ctx, SESSIONS.onpremAnonymous(), message(FORGED));
    expect(out.rules.fired).toEqual([]);
    expect(headerValues(out.raw, 'X-Seen')).toEqual([]);
  });
});

describe('cross-premises promotion (rule 3): only the authenticated hybrid partner', () => {
  const fromOnPremises = (authAs: string, directionality: string) => [
    ...BASIC,
    'X-MS-Exchange-Organization-AuthAs: Partner', // written by someone along the way: not trusted
    `X-MS-Exchange-CrossPremises-AuthAs: ${authAs}`,
    'X-MS-Exchange-CrossPremises-AuthSource: mail.contoso.example',
    'X-MS-Exchange-CrossPremises-AuthMechanism: 04',
    `X-MS-Exchange-CrossPremises-MessageDirectionality: ${directionality}`,
    'X-MS-Exchange-CrossPremises-Custom: folded',
    '  value',
    '',
  ];

  test.each`
    case                                  | node        | session           | promoted       | directionality   | authAs         | sfv          | scl
    ${'EOP, Internal promoted'}           | ${'eop'}    | ${'eopHybrid'}    | ${'Internal'}  | ${'Originating'} | ${'Internal'}  | ${'SKI'}     | ${'-1'}
    ${'EOP, promoted Anonymous stays so'} | ${'eop'}    | ${'eopHybrid'}    | ${'Anonymous'} | ${'Incoming'}    | ${'Anonymous'} | ${'NSPM'}    | ${'1'}
    ${'EOP, promoted Partner stays so'}   | ${'eop'}    | ${'eopHybrid'}    | ${'Partner'}   | ${'Incoming'}    | ${'Partner'}   | ${'NSPM'}    | ${'1'}
    ${'on premises, Internal promoted'}   | ${'onprem'} | ${'onpremHybrid'} | ${'Internal'}  | ${'Originating'} | ${'Internal'}  | ${undefined} | ${'-1'}
    ${'on premises, promoted Anonymous'}  | ${'onprem'} | ${'onpremHybrid'} | ${'Anonymous'} | ${'Incoming'}    | ${'Anonymous'} | ${undefined} | ${undefined}
  `('$case → $authAs', ({ node, session, promoted, directionality, authAs, sfv, scl }) => {
    const ctx = node === 'eop' ? eop() : onprem();
    const c = SESSIONS[session as keyof typeof SESSIONS]();
    expect(c.acceptCrossPremises).toBe(true);
    const out = run(ctx, c, message(fromOnPremises(promoted, directionality)));

    expect(crossPremises(out.raw)).toEqual([]);
    expect(out.authAs).toBe(authAs);
    expect(out.authSource).toBe('mail.contoso.example'); // who decided: the promoted header, not this node
    expect(out.directionality).toBe(directionality);
    expect(headerValues(out.raw, HEADER.authAs)).toEqual([promoted]);
    expect(headerValues(out.raw, HEADER.authSource)).toEqual(['mail.contoso.example']);
    expect(headerValues(out.raw, HEADER.authMechanism)).toEqual(['04']);
    expect(headerValues(out.raw, HEADER.directionality)).toEqual([directionality]);
    expect(headerValues(out.raw, 'X-MS-Exchange-Organization-Custom')).toEqual(['folded value']); // unfolded on promotion
    expect(headerValues(out.raw, HEADER.scl)).toEqual(scl === undefined ? [] : [scl]);
    expect(out.antispam?.sfv).toBe(sfv);
    if (node === 'eop') expect(headerValues(out.raw, HEADER.tenantAuthAs)).toEqual([authAs]);

    const promotions = out.edits.filter((e) => e.op === 'prepend' && /^promoted from X-MS-Exchange-CrossPremises-/.test(e.reason));
    expect(promotions.map((e) => e.name).sort()).toEqual(
      ['AuthAs', 'AuthMechanism', 'AuthSource', 'Custom', 'MessageDirectionality'].map((s) => `X-MS-Exchange-Organization-${s}`),
    );
    expect(edit(out.edits, 'remove', 'X-MS-Exchange-Organization-AuthAs')[0].reason).toMatch(/^header firewall/);
  });

  test('the same headers over an IP-only OnPremises match are dropped, not promoted', () => {
    const c = classifySession({
      ctx: eop(),
      inbound: { connector: 'Inbound from 6f2a', connectorType: 'OnPremises', matchedBy: 'IP 127.0.0.10', verdict: { outcome: 'accept', reason: '' } },
      secure: true,
    });
    const out = run(eop(), c, message(fromOnPremises('Internal', 'Originating')));
    expect(out.authAs).toBe('Anonymous');
    expect(headerValues(out.raw, HEADER.authAs)).toEqual(['Anonymous']);
    expect(headerValues(out.raw, 'X-MS-Exchange-Organization-Custom')).toEqual([]);
    expect(crossPremises(out.raw)).toEqual([]);
  });

  test('hybrid partner without cross-premises headers: this node stamps its own classification', () => {
    const out = run(eop(), SESSIONS.eopHybrid(), message([...BASIC, '']));
    expect(out.authAs).toBe('Internal');
    expect(out.authSource).toBe(EOP.hostname);
    expect(headerValues(out.raw, HEADER.authAs)).toEqual(['Internal']);
    expect(headerValues(out.raw, HEADER.authMechanism)).toEqual(['10']);
    expect(headerValues(out.raw, HEADER.directionality)).toEqual(['Originating']);
    expect(headerValues(out.raw, HEADER.tenantFromEntity)).toEqual(['HybridOnPrem']);
  });
});

describe('keepOrganizationHeaders (rule 2): another server of this organization', () => {
  test('ExternalAuthoritative: organization headers kept as they arrived; cross-premises dropped', () => {
    const raw = message([
      ...BASIC,
      'X-MS-Exchange-Organization-AuthAs: Anonymous',
      'X-MS-Exchange-Organization-AuthSource: edge.contoso.example',
      'X-MS-Exchange-Organization-MessageDirectionality: Incoming',
      'X-MS-Exchange-Organization-SCL: 5',
      'X-MS-Exchange-Organization-Custom: kept',
      'X-MS-Exchange-CrossPremises-AuthAs: Internal',
      '',
    ]);
    const c = SESSIONS.onpremFromEdge();
    expect(c.keepOrganizationHeaders).toBe(true);
    const out = run(onprem(), c, raw);
    expect(out.authAs).toBe('Anonymous');
    expect(out.authSource).toBe('edge.contoso.example');
    expect(out.directionality).toBe('Incoming');
    expect(headerValues(out.raw, HEADER.authAs)).toEqual(['Anonymous']);
    expect(headerValues(out.raw, HEADER.scl)).toEqual(['5']);
    expect(headerValues(out.raw, 'X-MS-Exchange-Organization-Custom')).toEqual(['kept']);
    expect(crossPremises(out.raw)).toEqual([]);
    expect(out.edits.filter((e) => /^header firewall/.test(e.reason))).toEqual([]);
    expect(out.edits.map((e) => [e.op, e.name])).toEqual([['remove', 'X-MS-Exchange-CrossPremises-AuthAs']]);
  });

  test('ExternalAuthoritative without organization headers: stamped Internal with mechanism 06', () => {
    const out = run(onprem(), SESSIONS.onpremFromEdge(), message([...BASIC, '']));
    expect(out.authAs).toBe('Internal');
    expect(headerValues(out.raw, HEADER.authAs)).toEqual(['Internal']);
    expect(headerValues(out.raw, HEADER.authMechanism)).toEqual(['06']);
    expect(headerValues(out.raw, HEADER.directionality)).toEqual(['Originating']);
    expect(headerValues(out.raw, HEADER.scl)).toEqual(['-1']);
  });
});

describe('stamps', () => {
  const EOP_STAMPS = [
    HEADER.authAs,
    HEADER.authSource,
    HEADER.directionality,
    HEADER.scl,
    HEADER.tenantId,
    HEADER.tenantAuthAs,
    HEADER.tenantAuthSource,
    HEADER.tenantFromEntity,
    HEADER.tenantArrival,
    HEADER.tenantNetworkMessageId,
    HEADER.originatorOrg,
    HEADER.antispam,
  ];

  test('Exchange Online, anonymous Internet mail: organization, CrossTenant, X-OriginatorOrg and anti-spam report', () => {
    const out = run(eop(), SESSIONS.eopAnonymous(), message([...BASIC, '']));
    const value = (n: string) => headerValues(out.raw, n);
    expect(value(HEADER.authAs)).toEqual(['Anonymous']);
    expect(value(HEADER.authSource)).toEqual([EOP.hostname]);
    expect(value(HEADER.authMechanism)).toEqual([]);
    expect(value(HEADER.directionality)).toEqual(['Incoming']);
    expect(value(HEADER.scl)).toEqual(['1']);
    expect(value(HEADER.tenantId)).toEqual([tenantIdOf('contoso')]);
    expect(value(HEADER.tenantAuthAs)).toEqual(['Anonymous']);
    expect(value(HEADER.tenantAuthSource)).toEqual([EOP.hostname]);
    expect(value(HEADER.tenantFromEntity)).toEqual(['Internet']);
    expect(value(HEADER.tenantArrival)).toEqual(['2026-03-02T10:00:00.000Z']);
    expect(value(HEADER.tenantNetworkMessageId)).toEqual(['b7f5c0de-0000-4000-8000-000000000001']);
    // the receiving tenant: this is what lets the on-premises rule keep Internet mail routed through EOP
    expect(value(HEADER.originatorOrg)).toEqual(['contoso.example']);
    expect(value(HEADER.antispam)).toEqual(['CIP:127.0.0.99;CTRY:;LANG:en;SCL:1;SRV:;IPV:NLI;SFV:NSPM;H:mx.tailspin.example;PTR:;CAT:NONE;SFS:;DIR:INB;']);
    for (const n of EOP_STAMPS) expect(edit(out.edits, 'prepend', n)).toHaveLength(1);
    expect(out.scl).toBe(1);
    expect(dispositionOf(out)).toBe('accept');
  });

  test('Exchange Online, mail from on premises to the Internet: DIR:OUT, X-OriginatorOrg is the tenant', () => {
    const raw = message([...BASIC, 'X-MS-Exchange-CrossPremises-AuthAs: Internal', 'X-MS-Exchange-CrossPremises-MessageDirectionality: Originating', '']);
    const out = run(eop(), SESSIONS.eopHybrid(), raw, {
      from: 'bob@contoso.example',
      recipients: ['x@tailspin.example'],
      clientIp: '127.0.0.10',
      helo: 'mail.contoso.example',
    });
    expect(out.antispam).toMatchObject({ sfv: 'NSPM', dir: 'OUT', scl: -1 });
    expect(headerValues(out.raw, HEADER.antispam)[0]).toMatch(/;SFV:NSPM;H:mail\.contoso\.example;.*DIR:OUT;$/);
    expect(headerValues(out.raw, HEADER.originatorOrg)).toEqual(['contoso.example']);
    expect(headerValues(out.raw, HEADER.tenantFromEntity)).toEqual(['HybridOnPrem']);
  });

  test('stamps written by someone else are replaced, never duplicated', () => {
    const raw = message([
      ...BASIC,
      'X-OriginatorOrg: contoso.example',
      'X-MS-Exchange-CrossTenant-Id: 00000000-0000-0000-0000-000000000000',
      'X-Forefront-Antispam-Report: SFV:SKN;',
      '',
    ]);
    const ctx = nodeContext('eop', { ...WOODGROVE_EOP }, ORGS);
    const out = run(ctx, classifySubmission(ctx), raw, { from: 'eve@woodgrove.example' });
    expect(headerValues(out.raw, HEADER.originatorOrg)).toEqual(['woodgrove.example']);
    expect(headerValues(out.raw, HEADER.tenantId)).toEqual([tenantIdOf('woodgrove')]);
    expect(headerValues(out.raw, HEADER.antispam)).toHaveLength(1);
    expect(edit(out.edits, 'remove', HEADER.originatorOrg)).toHaveLength(1);
  });

  test('Exchange Server stamps organization headers only', () => {
    const out = run(onprem(), SESSIONS.onpremAnonymous(), message([...BASIC, '']));
    expect(headerValues(out.raw, HEADER.authAs)).toEqual(['Anonymous']);
    expect(headerValues(out.raw, HEADER.directionality)).toEqual(['Incoming']);
    for (const n of [HEADER.tenantId, HEADER.tenantAuthAs, HEADER.originatorOrg, HEADER.antispam, HEADER.scl]) expect(headerValues(out.raw, n)).toEqual([]);
    expect(out.antispam).toBeUndefined();
    expect(out.scl).toBeUndefined();
  });

  test.each`
    case                                    | orgs                   | tenant
    ${"the organization's tenantId"}        | ${ORGS_WITH_TENANT_ID} | ${'72f988bf-86f1-41af-91ab-2d7cd011db47'}
    ${'derived from the organization name'} | ${ORGS}                | ${tenantIdOf('contoso')}
  `('X-MS-Exchange-CrossTenant-Id: $case', ({ orgs, tenant }) => {
    const out = run(eop(orgs), SESSIONS.eopAnonymous(), message([...BASIC, '']));
    expect(headerValues(out.raw, HEADER.tenantId)).toEqual([tenant]);
  });

  test('tenantIdOf: the given id, else a stable GUID per organization', () => {
    expect(tenantIdOf('contoso', 'given-id')).toBe('given-id');
    expect(tenantIdOf('contoso')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(tenantIdOf('contoso')).toBe(tenantIdOf('contoso'));
    expect(tenantIdOf('contoso')).not.toBe(tenantIdOf('woodgrove'));
    expect(eop().tenantId).toBe(tenantIdOf('contoso'));
  });
});

describe('mail flow rules in the pipeline', () => {
  const withRules = (spec: NodeSpec, transportRules: TransportRule[]) => nodeContext('n', { ...spec, transportRules }, ORGS);

  test.each`
    case                                | rule                                                                                               | verdict                                                                                                                                 | deletedBy
    ${'DeleteMessage'}                  | ${{ Name: 'drop', DeleteMessage: true }}                                                           | ${{ outcome: 'accept', reason: 'mail flow rule drop deleted the message silently' }}                                                    | ${'drop'}
    ${'Reject, default code'}           | ${{ Name: 'no', RejectMessageReasonText: 'Not here' }}                                             | ${{ outcome: 'refuse', reply: { code: 550, enhanced: '5.7.1', text: 'Not here' }, reason: 'mail flow rule no rejected the message' }}   | ${undefined}
    ${'Reject, custom code'}            | ${{ Name: 'no', RejectMessageReasonText: 'Not here', RejectMessageEnhancedStatusCode: '5.7.900' }} | ${{ outcome: 'refuse', reply: { code: 550, enhanced: '5.7.900', text: 'Not here' }, reason: 'mail flow rule no rejected the message' }} | ${undefined}
    ${'a rule that does not apply'}     | ${{ Name: 'drop', SenderDomainIs: ['fabrikam.example'], DeleteMessage: true }}                     | ${{ outcome: 'accept', reason: expect.stringMatching(/^no mail flow rule on \S+ rejects the message$/) }}                               | ${undefined}
    ${'delete and reject: delete wins'} | ${{ Name: 'both', DeleteMessage: true, RejectMessageReasonText: 'Not here' }}                      | ${{ outcome: 'accept', reason: 'mail flow rule both deleted the message silently' }}                                                    | ${'both'}
  `('$case → $verdict.outcome', ({ rule, verdict, deletedBy }) => {
    for (const [spec, session] of [
      [EOP, SESSIONS.eopAnonymous()],
      [ONPREM, SESSIONS.onpremAnonymous()],
    ] as const) {
      const out = run(withRules(spec, [rule]), session, message([...BASIC, '']));
      expect(out.verdict).toEqual(verdict);
      expect(out.deletedBy).toBe(deletedBy);
    }
  });

  test('SetHeader replaces an existing header (any case) and names the rule', () => {
    const ctx = withRules(ONPREM, [{ Name: 'tag', SetHeaderName: 'x-lab-tag', SetHeaderValue: 'new' }]);
    const out = run(ctx, SESSIONS.onpremAnonymous(), message([...BASIC, 'X-Lab-Tag: old', '']));
    expect(headerValues(out.raw, 'X-Lab-Tag')).toEqual(['new']);
    expect(edit(out.edits, 'remove', 'x-lab-tag')).toEqual([{ op: 'remove', name: 'x-lab-tag', reason: 'mail flow rule tag' }]);
    expect(edit(out.edits, 'prepend', 'x-lab-tag')).toEqual([{ op: 'prepend', name: 'x-lab-tag', value: 'new', reason: 'mail flow rule tag' }]);
  });

  test('SetSCL -1 at EOP: SFV:SKN, SCL -1', () => {
    const ctx = withRules(EOP, [{ Name: 'bypass', SenderDomainIs: ['tailspin.example'], SetSCL: -1 }]);
    const out = run(
      ctx,
      SESSIONS.eopAnonymous(),
      message([...BASIC, ''], Buffer.from('\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n')),
    );
    expect(out.antispam?.sfv).toBe('SKN');
    expect(headerValues(out.raw, HEADER.scl)).toEqual(['-1']);
  });

  test('SetSCL on premises (no anti-spam): the rule sets the SCL', () => {
    const out = run(withRules(ONPREM, [{ Name: 'junk', SetSCL: 6 }]), SESSIONS.onpremAnonymous(), message([...BASIC, '']));
    expect(out.scl).toBe(6);
    expect(headerValues(out.raw, HEADER.scl)).toEqual(['6']);
    expect(edit(out.edits, 'prepend', HEADER.scl)[0].reason).toBe('mail flow rule junk');
  });

  test('FromScope InOrganization needs the effective (promoted) AuthAs Internal and a sender in an accepted domain', () => {
    const ctx = withRules(EOP, [{ Name: 'outside', FromScope: 'NotInOrganization', SetHeaderName: 'X-Outside', SetHeaderValue: 'yes' }]);
    const promotedAnonymous = run(ctx, SESSIONS.eopHybrid(), message([...BASIC, 'X-MS-Exchange-CrossPremises-AuthAs: Anonymous', '']), {
      from: 'alice@contoso.example',
    });
    const promotedInternal = run(ctx, SESSIONS.eopHybrid(), message([...BASIC, 'X-MS-Exchange-CrossPremises-AuthAs: Internal', '']), {
      from: 'alice@contoso.example',
    });
    const internalForeignSender = run(ctx, SESSIONS.eopHybrid(), message([...BASIC, 'X-MS-Exchange-CrossPremises-AuthAs: Internal', '']), {
      from: 'mallory@woodgrove.example',
    });
    expect(promotedAnonymous.rules.fired.map((f) => f.rule)).toEqual(['outside']);
    expect(promotedInternal.rules.fired).toEqual([]);
    expect(internalForeignSender.rules.fired.map((f) => f.rule)).toEqual(['outside']);
  });
});

describe('the field attack, end to end through the pure pipeline', () => {
  const MITIGATION: TransportRule = {
    Name: 'Delete foreign-tenant mail from EOP',
    SenderIPRanges: [EOP_IP],
    ExceptIfHeaderMatchesMessageHeader: 'X-OriginatorOrg',
    ExceptIfHeaderMatchesPatterns: ['^contoso\\.example$'],
    DeleteMessage: true,
  };

  /** A tenant's user sends to bob@contoso.example; the tenant's EOP relays it to contoso's hybrid endpoint. */
  function viaTenant(spec: NodeSpec, from: string): Buffer {
    const ctx = nodeContext('tenant', spec, ORGS);
    const out = run(ctx, classifySubmission(ctx), message([`From: <${from}>`, 'To: <bob@contoso.example>', 'Subject: wire transfer', '']), {
      from,
      clientIp: undefined,
      helo: undefined,
    });
    const route = ctx.routes.find((r) => r.domains.includes('contoso.example'))!;
    expect(route.cloudServicesMailEnabled).toBe(true);
    const leaving = applyEdits(out.raw, outboundEdits(ctx, route, out.raw));
    expect(bodyOf(leaving).equals(bodyOf(out.raw))).toBe(true);
    return leaving;
  }

  test.each`
    case                                  | tenant           | from                       | rules           | authAs        | action
    ${'attack succeeds without the rule'} | ${WOODGROVE_EOP} | ${'eve@woodgrove.example'} | ${[]}           | ${'Internal'} | ${'accept'}
    ${'the rule deletes the attack'}      | ${WOODGROVE_EOP} | ${'eve@woodgrove.example'} | ${[MITIGATION]} | ${'Internal'} | ${'delete'}
    ${'own tenant passes the rule'}       | ${EOP}           | ${'alice@contoso.example'} | ${[MITIGATION]} | ${'Internal'} | ${'accept'}
  `('$case', ({ tenant, from, rules, authAs, action }) => {
    const raw = viaTenant(tenant, from);
    const ctx = nodeContext('onprem', { ...ONPREM, transportRules: rules }, ORGS);
    // same EOP IP, same EOP certificate: the receive connector cannot tell the tenants apart
    const out = run(ctx, SESSIONS.onpremHybrid(), raw, { from, clientIp: EOP_IP, helo: tenant.hostname });
    expect(out.authAs).toBe(authAs);
    expect(dispositionOf(out)).toBe(action);
    expect(headerValues(out.raw, HEADER.originatorOrg)).toEqual([tenant === EOP ? 'contoso.example' : 'woodgrove.example']);
  });

  test('a device relaying by IP is not touched by the IP-scoped rule', () => {
    const ctx = nodeContext('onprem', { ...ONPREM, transportRules: [MITIGATION] }, ORGS);
    const out = run(ctx, SESSIONS.onpremAnonymous(), message([...BASIC, '']), { clientIp: '127.0.0.50', from: 'scanner@contoso.example' });
    expect(dispositionOf(out)).toBe('accept');
  });
});

describe('non-Exchange nodes', () => {
  test('an appliance with stripHeaders X-MS-Exchange-* removes only those fields', () => {
    const raw = message([
      ...BASIC,
      'X-MS-Exchange-Organization-AuthAs: Internal',
      'x-ms-exchange-crosspremises-scl: -1',
      'X-MS-Exchange-CrossTenant-Id: abc',
      '\tcontinued',
      'X-MS-Has-Attach: yes',
      'X-OriginatorOrg: contoso.example',
      'X-Forefront-Antispam-Report: SFV:SKI;',
      '',
    ]);
    const ctx = nodeContext('filter', APPLIANCE, ORGS);
    const out = run(ctx, undefined, raw);
    expect(names(out.raw)).toEqual(['received', 'from', 'to', 'subject', 'message-id', 'x-ms-has-attach', 'x-originatororg', 'x-forefront-antispam-report']);
    expect(out.edits).toEqual(
      ['X-MS-Exchange-Organization-AuthAs', 'x-ms-exchange-crosspremises-scl', 'X-MS-Exchange-CrossTenant-Id'].map((name) => ({
        op: 'remove',
        name,
        reason: 'filter.contoso.example strips X-MS-Exchange-*',
      })),
    );
    expect(out).toMatchObject({ verdict: { outcome: 'accept' }, rules: { fired: [], setHeaders: [] } });
    expect(out.deletedBy).toBeUndefined();
    expect(out.authAs).toBeUndefined();
  });

  test('without stripHeaders the message passes byte for byte', () => {
    const raw = message([...BASIC, 'X-MS-Exchange-Organization-AuthAs: Internal', '']);
    const out = run(nodeContext('filter', { ...APPLIANCE, stripHeaders: undefined }, ORGS), undefined, raw);
    expect(out.edits).toEqual([]);
    expect(out.raw.equals(raw)).toBe(true);
  });

  test('an Exchange node without a classification does not run the pipeline', () => {
    const raw = message([...BASIC, 'X-MS-Exchange-Organization-AuthAs: Internal', '']);
    const out = run(onprem(), undefined, raw);
    expect(out.edits).toEqual([]);
    expect(out.raw.equals(raw)).toBe(true);
  });
});

describe('outboundEdits: leaving through a connector', () => {
  const ORG_HEADERS = [
    ...BASIC,
    'X-MS-Exchange-Organization-AuthAs: Internal',
    'X-MS-Exchange-Organization-AuthSource: mail.contoso.example',
    'X-MS-Exchange-Organization-Custom: a',
    '\tb',
    'X-OriginatorOrg: contoso.example',
    '',
  ];

  test('CloudServicesMailEnabled: Organization-* travel as CrossPremises-*, unfolded', () => {
    const ctx = onprem();
    const route = ctx.routes.find((r) => r.connector === 'Outbound to Office 365')!;
    const raw = message(ORG_HEADERS);
    const edits = outboundEdits(ctx, route, raw);
    const out = applyEdits(raw, edits);
    expect(orgHeaders(out)).toEqual([]);
    expect(headerValues(out, 'X-MS-Exchange-CrossPremises-AuthAs')).toEqual(['Internal']);
    expect(headerValues(out, 'X-MS-Exchange-CrossPremises-AuthSource')).toEqual(['mail.contoso.example']);
    expect(headerValues(out, 'X-MS-Exchange-CrossPremises-Custom')).toEqual(['a b']);
    expect(headerValues(out, 'X-OriginatorOrg')).toEqual(['contoso.example']);
    expect(bodyOf(out).equals(bodyOf(raw))).toBe(true);
    expect(edits.every((e) => e.reason.includes('CloudServicesMailEnabled on Outbound to Office 365'))).toBe(true);
  });

  test.each`
    case                                                   | route
    ${'a send connector without CloudServicesMailEnabled'} | ${'Internet'}
    ${'the default route'}                                 | ${'default'}
  `('$case: organization headers do not leave', ({ route }) => {
    const ctx = onprem();
    const r = route === 'default' ? DEFAULT_ROUTE : ctx.routes.find((x) => x.connector === route)!;
    const raw = message([...ORG_HEADERS.slice(0, -1), 'X-MS-Exchange-CrossPremises-SCL: -1', '']);
    const edits = outboundEdits(ctx, r, raw);
    const out = applyEdits(raw, edits);
    expect(orgHeaders(out)).toEqual([]);
    expect(
      edits.every(
        (e) => e.op === 'remove' && e.reason === `organization headers do not leave the organization (${r.connector} has no CloudServicesMailEnabled)`,
      ),
    ).toBe(true);
    expect(bodyOf(out).equals(bodyOf(raw))).toBe(true);
    // headers that are not organization headers are left alone (including a stray CrossPremises one)
    expect(headerValues(out, 'X-MS-Exchange-CrossPremises-SCL')).toEqual(['-1']);
    expect(headerValues(out, 'X-OriginatorOrg')).toEqual(['contoso.example']);
  });

  test('a non-Exchange node edits nothing on the way out', () => {
    const ctx = nodeContext('filter', APPLIANCE, ORGS);
    expect(outboundEdits(ctx, DEFAULT_ROUTE, message(ORG_HEADERS))).toEqual([]);
  });

  test('round trip: on premises → EOP restores the same organization headers', () => {
    const from = onprem();
    const route = from.routes.find((r) => r.connector === 'Outbound to Office 365')!;
    const raw = message(ORG_HEADERS);
    const wire = applyEdits(raw, outboundEdits(from, route, raw));
    const out = run(eop(), SESSIONS.eopHybrid(), wire, { from: 'bob@contoso.example', recipients: ['alice@contoso.example'] });
    expect(headerValues(out.raw, HEADER.authAs)).toEqual(['Internal']);
    expect(headerValues(out.raw, HEADER.authSource)).toEqual(['mail.contoso.example']);
    expect(headerValues(out.raw, 'X-MS-Exchange-Organization-Custom')).toEqual(['a b']);
    expect(out.antispam?.sfv).toBe('SKI');
  });
});

describe('applyEdits, removalsMatching, headerPattern', () => {
  const FOLDED = Buffer.from(
    'Received: from a\r\n\tby b\r\n\twith c\r\n' +
      'X-Remove: one\r\n two\r\n\tthree\r\n' +
      'X-Keep: k\r\n  folded keep\r\n' +
      'x-remove: again\r\n' +
      'Subject: s\r\n' +
      '\r\n' +
      'X-Remove: in the body\r\n folded in the body\r\n',
    'latin1',
  );

  test('removing a folded field removes its continuation lines, every occurrence, any case', () => {
    const out = applyEdits(FOLDED, [{ op: 'remove', name: 'X-REMOVE', reason: 'test' }]);
    expect(out.toString('latin1')).toBe(
      'Received: from a\r\n\tby b\r\n\twith c\r\n' +
        'X-Keep: k\r\n  folded keep\r\n' +
        'Subject: s\r\n' +
        '\r\n' +
        'X-Remove: in the body\r\n folded in the body\r\n',
    );
  });

  test('removing the field before a folded one keeps the folded one whole', () => {
    const out = applyEdits(FOLDED, [{ op: 'remove', name: 'Received', reason: 'test' }]);
    expect(headerValues(out, 'X-Remove')).toEqual(['one two three', 'again']);
    expect(names(out)).toEqual(['x-remove', 'x-keep', 'x-remove', 'subject']);
    expect(bodyOf(out).equals(bodyOf(FOLDED))).toBe(true);
  });

  test('LF-only messages work the same', () => {
    const lf = Buffer.from('A: 1\n continued\nB: 2\n\nA: body\n', 'latin1');
    expect(applyEdits(lf, [{ op: 'remove', name: 'a', reason: 't' }]).toString('latin1')).toBe('B: 2\n\nA: body\n');
  });

  test('prepend puts the field first with CRLF; edits apply in order', () => {
    const out = applyEdits(FOLDED, [
      { op: 'prepend', name: 'X-One', value: '1', reason: 't' },
      { op: 'prepend', name: 'X-Two', value: '2', reason: 't' },
      { op: 'remove', name: 'X-One', reason: 't' },
    ]);
    expect(out.toString('latin1').startsWith('X-Two: 2\r\nReceived: from a\r\n')).toBe(true);
    expect(headerValues(out, 'X-One')).toEqual([]);
  });

  test('a prepended value may not inject a header line', () => {
    expect(() => applyEdits(FOLDED, [{ op: 'prepend', name: 'X-Evil', value: 'a\r\nBcc: x@y', reason: 't' }])).toThrow(/inject a line break/);
    expect(
      applyEdits(FOLDED, [{ op: 'prepend', name: 'X-Folded', value: 'a\r\n b', reason: 't' }])
        .toString('latin1')
        .startsWith('X-Folded: a\r\n b\r\n'),
    ).toBe(true);
  });

  test('removalsMatching: one remove edit per distinct name, first spelling, with the reason', () => {
    expect(removalsMatching(FOLDED, (n) => /^x-/i.test(n), 'why')).toEqual([
      { op: 'remove', name: 'X-Remove', reason: 'why' },
      { op: 'remove', name: 'X-Keep', reason: 'why' },
    ]);
  });

  test.each`
    glob                  | name                                    | matches
    ${'X-MS-Exchange-*'}  | ${'X-MS-Exchange-Organization-AuthAs'}  | ${true}
    ${'X-MS-Exchange-*'}  | ${'x-ms-exchange-crosspremises-scl'}    | ${true}
    ${'X-MS-Exchange-*'}  | ${'X-MS-Has-Attach'}                    | ${false}
    ${'X-MS-Exchange-*'}  | ${'XX-MS-Exchange-Organization-AuthAs'} | ${false}
    ${'X-Originator.Org'} | ${'X-OriginatorXOrg'}                   | ${false}
    ${'*-Report'}         | ${'X-Forefront-Antispam-Report'}        | ${true}
    ${'Subject'}          | ${'subject'}                            | ${true}
  `('headerPattern($glob) on $name → $matches', ({ glob, name, matches }) => {
    expect(headerPattern(glob).test(name)).toBe(matches);
  });
});

describe('known divergences', () => {
  test('a user submission cannot set its own organization headers (rule 2: only servers of the organization are trusted)', () => {
    const ctx = onprem();
    const raw = message([
      'From: <bob@contoso.example>',
      'To: <carol@contoso.example>',
      'X-MS-Exchange-Organization-AuthAs: Anonymous',
      'X-MS-Exchange-Organization-SCL: 9',
      '',
    ]);
    const out = run(ctx, classifySubmission(ctx), raw, { from: 'bob@contoso.example', recipients: ['carol@contoso.example'], clientIp: undefined });
    expect(out.authAs).toBe('Internal');
    expect(headerValues(out.raw, HEADER.authAs)).toEqual(['Internal']);
  });

  test('a promoted AuthAs outside the value set is replaced by the classification', () => {
    const out = run(eop(), SESSIONS.eopHybrid(), message([...BASIC, 'X-MS-Exchange-CrossPremises-AuthAs: Bogus', '']));
    expect(out.authAs).toBe('Internal');
    expect(headerValues(out.raw, HEADER.authAs)).toEqual(['Internal']);
  });
});
