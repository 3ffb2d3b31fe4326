import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { HEADER } from '@relaylab/core';
import { judge, loadScenarioFile, runScenario, type Scenario, type ScenarioResult } from '@relaylab/lab';

/**
 * Header expectations read what the mailbox holds, parsed as a lenient reader parses it: the
 * obsolete spellings from issue 12 (`Name : value`, `Name<TAB>: value`) sent over real sockets
 * from the Internet, and a check that a trace saying "removed" cannot make `absent` pass while
 * the stored bytes keep the field.
 */

const certsDir = mkdtempSync(join(tmpdir(), 'relaylab-header-assertions-'));
const base = loadScenarioFile(resolve(__dirname, '../../../scenarios/internet-claims-internal-header.yaml'));

const RAW = [
  'From: <tom@tailspin.example>',
  'To: <carol@contoso.example>, <alice@contoso.example>',
  'Subject: obsolete spellings',
  'Message-ID: <obsolete-spellings@tailspin.example>',
  'X-MS-Exchange-Organization-AuthAs : Internal',
  'X-MS-Exchange-Organization-SCL\t: -1',
  'X-MS-Exchange-Organization-Spoofed : yes',
  'X-MS-Exchange-CrossPremises-AuthAs : Internal',
  'x-ms-exchange-crosspremises-messagedirectionality\t:',
  ' Originating',
  '',
  'hello',
  '',
].join('\n');

const scenario: Scenario = {
  ...base,
  name: 'obsolete-header-spellings',
  messages: [{ id: 'spoof', from: 'tom@tailspin.example', to: ['carol@contoso.example', 'alice@contoso.example'], via: 'tailspin', raw: RAW }],
  expect: [
    {
      message: 'spoof',
      recipient: 'carol@contoso.example',
      state: 'delivered',
      path: ['tailspin', 'eop'],
      hops: [{ from: 'tailspin', to: 'eop', authAs: 'Anonymous', crossPremises: false }],
      headers: [
        { name: HEADER.authAs, equals: 'Anonymous' },
        { name: HEADER.scl, equals: '1' },
        { name: 'X-MS-Exchange-Organization-Spoofed', absent: true },
        { name: 'X-MS-Exchange-CrossPremises-AuthAs', absent: true },
      ],
    },
    {
      message: 'spoof',
      recipient: 'alice@contoso.example',
      state: 'delivered',
      path: ['tailspin', 'eop', 'onprem'],
      hops: [{ from: 'eop', to: 'onprem', authAs: 'Anonymous', directionality: 'Incoming' }],
      headers: [
        { name: HEADER.authAs, equals: 'Anonymous' },
        { name: HEADER.directionality, equals: 'Incoming' },
        { name: 'X-MS-Exchange-Organization-Spoofed', absent: true },
        { name: 'X-MS-Exchange-CrossPremises-AuthAs', absent: true },
        { name: 'X-MS-Exchange-CrossPremises-MessageDirectionality', absent: true },
      ],
    },
  ],
};

/** Every field a reader could see: unfolded, name before the colon with every blank squeezed out. */
function readerSees(headerSection: string): Array<[string, string]> {
  return headerSection
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

let result: ScenarioResult;
beforeAll(async () => {
  result = await runScenario(scenario, { certsDir });
}, 60_000);

test('the obsolete spellings from the Internet: the scenario passes and the stored bytes agree with it', () => {
  expect(result.error).toBeUndefined();
  expect(result.failures).toEqual([]);
  expect(result.passed).toBe(true);
  for (const { recipient, fate } of result.fates) {
    expect(fate.storedHeaders).toBeDefined();
    const fields = readerSees(fate.storedHeaders!);
    // nothing the sender wrote under Exchange's prefixes reached either mailbox
    expect({
      recipient,
      forged: fields.filter(([n, v]) => n.startsWith('x-ms-exchange-organization-') && ['Internal', '-1', 'yes', 'Originating'].includes(v)),
    }).toEqual({ recipient, forged: [] });
    expect({ recipient, crossPremises: fields.filter(([n]) => n.startsWith('x-ms-exchange-crosspremises-')) }).toEqual({ recipient, crossPremises: [] });
  }
});

test('a trace that says "removed" cannot pass `absent` while the stored bytes keep the field', () => {
  // the trace records the firewall's removal at EOP …
  const removal = result.trace.find(
    (e) => e.type === 'header' && e.op === 'remove' && e.node === 'eop' && /^X-MS-Exchange-Organization-Spoofed$/i.test(e.name),
  );
  expect(removal).toMatchObject({ reason: expect.stringMatching(/^header firewall/) });
  // … and a mailbox that kept it anyway, in the obsolete spelling the firewall once missed
  const kept = (node: string, mailbox: string) => {
    const fate = result.fates.find((f) => f.fate.node === node && f.fate.mailbox === mailbox)!.fate;
    return Buffer.from(`X-MS-Exchange-Organization-Spoofed : yes\r\n${fate.storedHeaders}`, 'latin1');
  };
  const ids = new Map([['spoof', '<obsolete-spellings@tailspin.example>']]);
  const verdict = judge(scenario, ids, result.trace, () => undefined, kept);
  const fields = verdict.failures.map((f) => [f.subject, f.field, f.actual]);
  expect(fields).toEqual(
    expect.arrayContaining([
      ['spoof → carol@contoso.example', 'headers[X-MS-Exchange-Organization-Spoofed].absent', ['yes']],
      ['spoof → alice@contoso.example', 'headers[X-MS-Exchange-Organization-Spoofed].absent', ['yes']],
    ]),
  );
  // the fates of this judgement carry the bytes that were read, so a reporter re-checks the same
  for (const { fate } of verdict.fates) expect(fate.storedHeaders?.startsWith('X-MS-Exchange-Organization-Spoofed : yes\r\n')).toBe(true);
});

test('`unchanged` compares what the mailbox holds, read leniently', () => {
  const verdict = judge(
    {
      ...scenario,
      expect: [
        {
          message: 'spoof',
          recipient: 'carol@contoso.example',
          state: 'delivered',
          unchanged: [{ from: 'eop', headers: ['Subject', 'X-MS-Exchange-Organization-Spoofed'] }],
        },
      ],
    },
    new Map([['spoof', '<obsolete-spellings@tailspin.example>']]),
    result.trace,
    () => undefined,
    (node, mailbox) => {
      const fate = result.fates.find((f) => f.fate.node === node && f.fate.mailbox === mailbox)!.fate;
      return Buffer.from(`x-ms-exchange-organization-spoofed\t: yes\r\n${fate.storedHeaders}`, 'latin1');
    },
  );
  // EOP received the field (its arrival event), and the mailbox still holds it: unchanged holds.
  expect(verdict.failures).toEqual([]);
  const removed = judge(
    {
      ...scenario,
      expect: [
        {
          message: 'spoof',
          recipient: 'carol@contoso.example',
          state: 'delivered',
          unchanged: [{ from: 'eop', headers: ['X-MS-Exchange-Organization-Spoofed'] }],
        },
      ],
    },
    new Map([['spoof', '<obsolete-spellings@tailspin.example>']]),
    result.trace,
    () => undefined,
    (node, mailbox) => Buffer.from(result.fates.find((f) => f.fate.node === node && f.fate.mailbox === mailbox)!.fate.storedHeaders!, 'latin1'),
  );
  expect(removed.failures.map((f) => [f.field, f.expected, f.actual])).toEqual([
    ['unchanged[eop → mailbox].X-MS-Exchange-Organization-Spoofed', ['yes'], 'absent'],
  ]);
});
