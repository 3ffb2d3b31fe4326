import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import fc from 'fast-check';
import { Lab, loadTopologyFile } from '@relaylab/lab';

/**
 * Issue 12: the header firewall must see what a lenient reader sees. An Internet client writes
 * organization and cross-premises headers in every spelling a reader accepts (any case, blanks or
 * a fold before the colon, a fold inside the name, bare LF line ends, duplicates, 8-bit bytes) and
 * sends them over real SMTP to Exchange Online (which relays alice's copy to on premises over the
 * hybrid connector) and straight to the on-premises server. What is checked is what the mailboxes
 * hold, read by a reader written here, never the trace: nothing the sender wrote under Exchange's
 * prefixes survives, and no cross-premises header from a sender that is not the hybrid partner is
 * promoted. One lab, a bounded number of runs.
 */

const RUNS = 120;
const CLIENT_IP = '127.0.0.77'; // no node of the topology: an anonymous Internet client
const MARK = 'SPOOF7f3a';

let lab: Lab;
let toCloud: Client;
let toOnPremises: Client;
beforeAll(async () => {
  lab = await Lab.start(loadTopologyFile(resolve(__dirname, '../../../scenarios/topologies/hybrid.yaml')), {
    certsDir: mkdtempSync(join(tmpdir(), 'relaylab-firewall-property-')),
  });
  toCloud = new Client('127.0.0.20', () => lab.node('eop').port);
  toOnPremises = new Client('127.0.0.10', () => lab.node('onprem').port);
});
afterAll(async () => {
  toCloud?.close();
  toOnPremises?.close();
  await lab?.stop();
});

/** A client session kept open across runs (each new one waits for a greeting); reopened if the server closed it. */
class Client {
  private socket?: Socket;
  private buffer = '';
  private waiting: Array<(reply: string) => void> = [];
  constructor(
    private readonly host: string,
    private readonly port: () => number,
  ) {}

  private async open(): Promise<void> {
    const socket: Socket = await new Promise((ok, fail) => {
      const s = connect({ host: this.host, port: this.port(), localAddress: CLIENT_IP }, () => ok(s));
      s.once('error', fail);
    });
    this.socket = socket;
    this.buffer = '';
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      for (const w of this.waiting.splice(0)) w('(connection closed)');
    });
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      // a reply is complete at a line "ddd " (multi-line replies use "ddd-")
      for (let m = /^\d{3} .*\r\n/m.exec(this.buffer); m; m = /^\d{3} .*\r\n/m.exec(this.buffer)) {
        const reply = this.buffer.slice(0, m.index + m[0].length);
        this.buffer = this.buffer.slice(m.index + m[0].length);
        this.waiting.shift()?.(reply);
      }
    });
    await this.reply();
    await this.command('EHLO client.tailspin.example\r\n');
  }

  private reply(): Promise<string> {
    return new Promise<string>((ok) => this.waiting.push(ok));
  }

  private command(line: string | Buffer): Promise<string> {
    const reply = this.reply();
    this.socket!.write(line);
    return reply;
  }

  /** One transaction; the reply to the end of DATA. */
  async send(rcpts: string[], data: Buffer): Promise<string> {
    if (!this.socket) await this.open();
    expect(await this.command('MAIL FROM:<tom@tailspin.example>\r\n')).toMatch(/^250 /);
    for (const r of rcpts) expect(await this.command(`RCPT TO:<${r}>\r\n`)).toMatch(/^250 /);
    expect(await this.command('DATA\r\n')).toMatch(/^354 /);
    return this.command(Buffer.concat([data, Buffer.from('.\r\n')]));
  }

  close(): void {
    this.socket?.destroy();
  }
}

const cased = (s: string) =>
  fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((up) => [...s].map((c, i) => (up[i] ? c.toUpperCase() : c.toLowerCase())).join(''));

/** What the sender claims under each name: values Exchange would honour, or a marked one. */
const CLAIMS: Record<string, string> = {
  AuthAs: 'Internal',
  SCL: '-1',
  MessageDirectionality: 'Originating',
  AuthSource: `${MARK}.tailspin.example`,
  Extra: MARK,
};
const FORBIDDEN_VALUES = ['Internal', '-1', 'Originating'];

const forgedField = fc
  .record({
    prefix: fc.oneof(cased('X-MS-Exchange-Organization-'), cased('X-MS-Exchange-CrossPremises-')),
    suffix: fc.constantFrom(...Object.keys(CLAIMS)),
    suffixCase: fc.boolean(),
    odd: fc.constantFrom('', '', '\u00e9', '\u007f', '\u00ff\u00fe'),
    foldInName: fc.boolean(),
    beforeColon: fc.constantFrom('', ' ', '\t', ' \t ', '\r\n ', '\r\n\t', '\t\r\n '),
    afterColon: fc.constantFrom('', ' ', '\t', '\r\n '),
    tail: fc.constantFrom('', '', ' \u00e9\u00ff', '\r\n\tcontinued'),
    copies: fc.integer({ min: 1, max: 3 }),
    eol: fc.constantFrom('\r\n', '\n'),
  })
  .map((f) => {
    const claim = CLAIMS[f.suffix];
    // values Exchange honours are written exactly, so a survivor would be believed
    const value = claim === MARK || claim.startsWith(MARK) ? `${claim}${f.tail}` : claim;
    const suffix = (f.suffixCase ? f.suffix.toUpperCase() : f.suffix) + (claim.includes(MARK) ? f.odd : '');
    const line = `${f.prefix}${f.foldInName ? '\r\n ' : ''}${suffix}${f.beforeColon}:${f.afterColon}${value}${f.eol}`;
    return line.repeat(f.copies);
  });

const message = fc.record({ forged: fc.array(forgedField, { minLength: 1, maxLength: 6 }), at: fc.nat() });

/** Every field a lenient reader could see, independent of relaylab's parser: unfold, squeeze blanks out of the name. */
function readerSees(raw: Buffer): { fields: Array<[string, string]>; head: string; body: Buffer } {
  const text = raw.toString('latin1');
  const end = /\r?\n\r?\n/.exec(text);
  const head = end ? text.slice(0, end.index) : text;
  const fields = head
    .replace(/\r?\n(?=[ \t])/g, '')
    .split(/\r?\n/)
    .filter((l) => l.includes(':'))
    .map((l): [string, string] => [
      l
        .slice(0, l.indexOf(':'))
        .replace(/[ \t]+/g, '')
        .toLowerCase(),
      l.slice(l.indexOf(':') + 1).trim(),
    ]);
  return { fields, head, body: raw.subarray(end ? end.index + end[0].length : raw.length) };
}

const BODY = Buffer.from('Hello,\r\nX-MS-Exchange-Organization-AuthAs: Internal (in the body, stays)\r\ncaf\u00e9 \u00ff\r\n', 'latin1');

function checkDelivered(where: string, raw: Buffer | undefined): void {
  expect({ where, delivered: !!raw }).toEqual({ where, delivered: true });
  const { fields, head, body } = readerSees(raw!);
  const org = fields.filter(([n]) => n.startsWith('x-ms-exchange-organization-'));
  expect({ where, marked: head.includes(MARK) }).toEqual({ where, marked: false });
  expect({ where, believed: org.filter(([, v]) => FORBIDDEN_VALUES.includes(v)) }).toEqual({ where, believed: [] });
  expect({ where, authAs: org.filter(([n]) => n === 'x-ms-exchange-organization-authas').map(([, v]) => v) }).toEqual({ where, authAs: ['Anonymous'] });
  expect({ where, crossPremises: fields.filter(([n]) => n.startsWith('x-ms-exchange-crosspremises-')) }).toEqual({ where, crossPremises: [] });
  expect({ where, bodyIntact: body.equals(BODY) }).toEqual({ where, bodyIntact: true });
}

const stored = (node: string, mailbox: string, id: string) =>
  lab
    .node(node)
    .mailboxes.get(mailbox)
    .find((m) => m.messageId === id)?.raw;

test(`forged Exchange headers in any spelling never reach a mailbox (${RUNS} runs over SMTP)`, async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(message, async ({ forged, at }) => {
      n++;
      const ordinary = ['From: <tom@tailspin.example>', 'To: <carol@contoso.example>', 'Subject: hello'];
      const id = (entry: string) => `<prop-${n}-${entry}@tailspin.example>`;
      const compose = (entry: string) => {
        const lines = [...ordinary.map((l) => `${l}\r\n`), `Message-ID: ${id(entry)}\r\n`];
        lines.splice(at % (lines.length + 1), 0, ...forged);
        return Buffer.concat([Buffer.from(`${lines.join('')}\r\n`, 'latin1'), BODY]);
      };
      // Internet → Exchange Online: carol's copy there, alice's relayed to on premises over the hybrid connector
      expect(await toCloud.send(['carol@contoso.example', 'alice@contoso.example'], compose('eop'))).toMatch(/^250 /);
      // Internet → on premises directly
      expect(await toOnPremises.send(['alice@contoso.example'], compose('onprem'))).toMatch(/^250 /);
      expect(await lab.settle()).toBe(true);
      checkDelivered('eop, carol', stored('eop', 'carol@contoso.example', id('eop')));
      checkDelivered('onprem via eop, alice', stored('onprem', 'alice@contoso.example', id('eop')));
      checkDelivered('onprem direct, alice', stored('onprem', 'alice@contoso.example', id('onprem')));
    }),
    { numRuns: RUNS },
  );
  expect(n).toBeGreaterThanOrEqual(RUNS);
}, 180_000);
