import {
  applyEdits,
  classifySession,
  HEADER,
  headerEnd,
  headerValues,
  nodeContext,
  outboundEdits,
  processMessage,
  type Classification,
  type MessageOutcome,
  type NodeContext,
} from '@relaylab/core';
import { DEFAULT_FRONTEND, EOP, EOP_CERT, FROM_EDGE, ONPREM, ORGS } from './hybrid-fixtures';

/**
 * The header firewall, promotion and conversion act on the same lenient reading every reader
 * uses: a spelling of an organization or cross-premises header that a mail reader accepts (space
 * or tab before the colon, a fold, any case, duplicates) is removed, dropped or carried like the
 * plain spelling. Checked against the bytes with a reader written here, not with the library's.
 */

const eop = () => nodeContext('eop', EOP, ORGS);
const onprem = () => nodeContext('onprem', ONPREM, ORGS);
const SESSIONS = {
  eopAnonymous: () => classifySession({ ctx: eop(), secure: true }),
  onpremAnonymous: () => classifySession({ ctx: onprem(), receiveConnector: DEFAULT_FRONTEND, secure: false }),
  onpremHybrid: () => classifySession({ ctx: onprem(), receiveConnector: DEFAULT_FRONTEND, clientCertificate: EOP_CERT, secure: true }),
  onpremFromEdge: () => classifySession({ ctx: onprem(), receiveConnector: FROM_EDGE, secure: true }),
};

const BODY = Buffer.from('\r\nX-MS-Exchange-Organization-AuthAs: Internal in the body\r\n\u00ff\u0000 end\r\n', 'latin1');
const message = (...lines: string[]) =>
  Buffer.concat([Buffer.from(['From: <tom@tailspin.example>', 'Subject: hi', ...lines].map((l) => `${l}\r\n`).join(''), 'latin1'), BODY]);
const bodyOf = (raw: Buffer) => raw.subarray(headerEnd(raw));

/**
 * A reader more lenient than the library's, written independently: unfold every line that starts
 * with whitespace, take the text before the first colon and squeeze every blank out of it.
 */
function readerSees(raw: Buffer): Array<[string, string]> {
  const text = raw.toString('latin1');
  const end = /\r?\n\r?\n/.exec(text);
  const head = end ? text.slice(0, end.index) : text;
  return head
    .replace(/\r?\n(?=[ \t])/g, '')
    .split(/\r?\n/)
    .filter((l) => l.includes(':'))
    .map((l) => [
      l
        .slice(0, l.indexOf(':'))
        .replace(/[ \t]+/g, '')
        .toLowerCase(),
      l.slice(l.indexOf(':') + 1).trim(),
    ]);
}
const seen = (raw: Buffer, prefix: string) => readerSees(raw).filter(([n]) => n.startsWith(prefix.toLowerCase()));

function run(ctx: NodeContext, c: Classification, raw: Buffer): MessageOutcome {
  const out = processMessage({
    ctx,
    classification: c,
    raw,
    from: 'tom@tailspin.example',
    recipients: ['alice@contoso.example'],
    clientIp: '127.0.0.50',
    helo: 'mx.tailspin.example',
    now: new Date('2026-03-02T10:00:00Z'),
    networkMessageId: 'n-1',
  });
  expect(bodyOf(out.raw).equals(bodyOf(raw))).toBe(true);
  expect(applyEdits(raw, out.edits).equals(out.raw)).toBe(true);
  return out;
}

// The spellings from the finding, and the other ways a reader accepts the same field.
const SPELLINGS = [
  (n: string, v: string) => `${n} : ${v}`,
  (n: string, v: string) => `${n}\t: ${v}`,
  (n: string, v: string) => `${n.toLowerCase()}:${v}`,
  (n: string, v: string) => `${n.toUpperCase()} \t :\t${v}`,
  (n: string, v: string) => `${n}\r\n : ${v}`,
  (n: string, v: string) => `${n}:\r\n\t${v}`,
];

describe('untrusted senders: every spelling of an organization header is removed', () => {
  test.each(SPELLINGS.map((s, i) => [i, s]))('spelling %i, at EOP and on premises', (_i, spell) => {
    const raw = message(
      spell('X-MS-Exchange-Organization-AuthAs', 'Internal'),
      spell('X-MS-Exchange-Organization-SCL', '-1'),
      spell('X-MS-Exchange-Organization-Custom', 'forged'),
    );
    for (const [ctx, c] of [
      [eop(), SESSIONS.eopAnonymous()],
      [onprem(), SESSIONS.onpremAnonymous()],
    ] as const) {
      const out = run(ctx, c, raw);
      // only what this node stamped: its own AuthAs, never the forged values
      const org = seen(out.raw, 'X-MS-Exchange-Organization-');
      expect(org).toContainEqual(['x-ms-exchange-organization-authas', 'Anonymous']);
      expect(org.filter(([, v]) => v === 'Internal' || v === '-1' || v === 'forged')).toEqual([]);
      expect(out.authAs).toBe('Anonymous');
      // the trace says removed, and the bytes agree
      const removed = out.edits.filter((e) => e.op === 'remove' && /^header firewall/.test(e.reason));
      expect(removed.map((e) => e.name.toLowerCase())).toEqual([
        'x-ms-exchange-organization-authas',
        'x-ms-exchange-organization-scl',
        'x-ms-exchange-organization-custom',
      ]);
    }
  });

  test('duplicates: all of them go', () => {
    const raw = message(
      'X-MS-Exchange-Organization-AuthAs: Internal',
      'X-MS-Exchange-Organization-AuthAs : Internal',
      'x-ms-exchange-organization-authas\t:Internal',
    );
    const out = run(eop(), SESSIONS.eopAnonymous(), raw);
    expect(seen(out.raw, HEADER.authAs)).toEqual([['x-ms-exchange-organization-authas', 'Anonymous']]);
  });

  test('a rule reads what the reader reads: a forged AuthAs with the obsolete spelling does not satisfy it', () => {
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
    const out = run(ctx, SESSIONS.onpremAnonymous(), message('X-MS-Exchange-Organization-AuthAs : Internal'));
    expect(out.rules.fired).toEqual([]);
  });

  test('a rule matches a header written with the obsolete spelling, and SetHeader replaces every spelling', () => {
    const ctx = nodeContext(
      'onprem',
      {
        ...ONPREM,
        transportRules: [
          { Name: 'tag', HeaderMatchesMessageHeader: 'X-Project', HeaderMatchesPatterns: ['^blue$'], SetHeaderName: 'X-Tag', SetHeaderValue: 'seen' },
        ],
      },
      ORGS,
    );
    const out = run(ctx, SESSIONS.onpremAnonymous(), message('X-Project : blue', 'x-tag\t: old', 'X-TAG: older'));
    expect(out.rules.fired.map((r) => r.rule)).toEqual(['tag']);
    expect(readerSees(out.raw).filter(([n]) => n === 'x-tag')).toEqual([['x-tag', 'seen']]);
  });
});

describe('cross-premises headers', () => {
  test.each(SPELLINGS.map((s, i) => [i, s]))('spelling %i from a sender that is not the hybrid partner: dropped, never promoted', (_i, spell) => {
    const raw = message(spell('X-MS-Exchange-CrossPremises-AuthAs', 'Internal'), spell('X-MS-Exchange-CrossPremises-MessageDirectionality', 'Originating'));
    for (const [ctx, c] of [
      [eop(), SESSIONS.eopAnonymous()],
      [onprem(), SESSIONS.onpremAnonymous()],
    ] as const) {
      const out = run(ctx, c, raw);
      expect(seen(out.raw, 'X-MS-Exchange-CrossPremises-')).toEqual([]);
      expect(seen(out.raw, HEADER.authAs)).toEqual([['x-ms-exchange-organization-authas', 'Anonymous']]);
      expect(seen(out.raw, HEADER.directionality)).toEqual([['x-ms-exchange-organization-messagedirectionality', 'Incoming']]);
    }
  });

  test('Internet → EOP → on premises: a forged CrossPremises-AuthAs with the obsolete spelling does not come out Internal', () => {
    const raw = message('X-MS-Exchange-CrossPremises-AuthAs : Internal', 'X-MS-Exchange-Organization-AuthAs\t: Internal');
    const atEop = run(eop(), SESSIONS.eopAnonymous(), raw);
    const route = eop().routes.find((r) => r.connector === 'Outbound to 6f2a')!;
    const wire = applyEdits(atEop.raw, outboundEdits(eop(), route, atEop.raw));
    const atOnprem = run(onprem(), SESSIONS.onpremHybrid(), wire);
    expect(atOnprem.authAs).toBe('Anonymous'); // what EOP decided, carried across
    expect(seen(atOnprem.raw, HEADER.authAs)).toEqual([['x-ms-exchange-organization-authas', 'Anonymous']]);
    expect(readerSees(atOnprem.raw).filter(([, v]) => v === 'Internal')).toEqual([]);
  });

  test.each(SPELLINGS.map((s, i) => [i, s]))("spelling %i from the hybrid partner: promoted under Exchange's own name", (_i, spell) => {
    const raw = message(spell('X-MS-Exchange-CrossPremises-AuthAs', 'Internal'), spell('x-ms-exchange-crosspremises-authsource', 'mail.contoso.example'));
    const out = run(onprem(), SESSIONS.onpremHybrid(), raw);
    expect(out.authAs).toBe('Internal');
    expect(seen(out.raw, 'X-MS-Exchange-CrossPremises-')).toEqual([]);
    const text = out.raw.toString('latin1');
    expect(text).toContain('\r\nX-MS-Exchange-Organization-AuthAs: Internal\r\n');
    expect(text).toContain('X-MS-Exchange-Organization-AuthSource: mail.contoso.example\r\n');
  });

  test('from the hybrid partner, duplicates are promoted in the order they came', () => {
    const out = run(onprem(), SESSIONS.onpremHybrid(), message('X-MS-Exchange-CrossPremises-Custom: one', 'x-ms-exchange-crosspremises-custom : two'));
    expect(headerValues(out.raw, 'X-MS-Exchange-Organization-Custom')).toEqual(['one', 'two']);
  });

  test('a cross-premises name no writer would use (a fold or blank inside it, an 8-bit byte) is dropped, not promoted', () => {
    const raw = message(
      'X-MS-Exchange-CrossPremises-\r\n AuthAs: Internal',
      'X-MS-Exchange-CrossPremises-Auth As: Internal',
      'X-MS-Exchange-CrossPremises-Auth\u00e9: x',
    );
    const out = run(onprem(), SESSIONS.onpremHybrid(), raw);
    expect(seen(out.raw, 'X-MS-Exchange-CrossPremises-')).toEqual([]);
    expect(
      readerSees(out.raw).filter(
        ([n]) =>
          n.startsWith('x-ms-exchange-organization-auth') &&
          !['x-ms-exchange-organization-authas', 'x-ms-exchange-organization-authsource', 'x-ms-exchange-organization-authmechanism'].includes(n),
      ),
    ).toEqual([]);
    expect(out.edits.filter((e) => e.op === 'remove' && /not promoted/.test(e.reason)).length).toBe(3);
  });

  test('a value with a bare CR is promoted on one line instead of throwing', () => {
    const out = run(onprem(), SESSIONS.onpremHybrid(), message('X-MS-Exchange-CrossPremises-Custom: a\rb'));
    expect(headerValues(out.raw, 'X-MS-Exchange-Organization-Custom')).toEqual(['a b']);
  });
});

describe('leaving through a CloudServicesMailEnabled connector', () => {
  test("organization headers kept from another server, in any spelling, travel as CrossPremises under Exchange's names", () => {
    const ctx = onprem();
    const atOnprem = run(ctx, SESSIONS.onpremFromEdge(), message('x-ms-exchange-organization-authas : Internal', 'X-MS-Exchange-Organization-Odd Name: x'));
    const route = ctx.routes.find((r) => r.connector === 'Outbound to Office 365')!;
    const out = applyEdits(atOnprem.raw, outboundEdits(ctx, route, atOnprem.raw));
    expect(seen(out, 'X-MS-Exchange-Organization-')).toEqual([]);
    expect(out.toString('latin1')).toContain('X-MS-Exchange-CrossPremises-AuthAs: Internal\r\n');
    expect(seen(out, 'X-MS-Exchange-CrossPremises-OddName')).toEqual([]);
  });
});
