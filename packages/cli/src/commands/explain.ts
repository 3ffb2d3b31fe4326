import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ANTISPAM_HEADERS_URL, explainMessage, replayScenario, type Explanation } from '@relaylab/core';
import { MessageInputError, readMessageHeaders } from './explain-input';
import { guarded, InputError, UsageError, type Io } from './shared';

export const EXPLAIN_HELP = `Usage: relaylab explain <message.eml | -> [options]

Reads a message's header section (an .eml file, or standard input with -) and tells hop by hop
what happened: the Received chain with TLS versions and ciphers, the connectors each hop implies,
Exchange's AuthAs / AuthSource / AuthMechanism / MessageDirectionality, the
X-MS-Exchange-CrossTenant-* stamps, X-OriginatorOrg, X-Forefront-Antispam-Report decoded field by
field, Authentication-Results; whether the message was treated as internal, and what broke it if
mail from your own organization arrived as external.

Options:
  --org <domain>       your organization's domain (repeatable; default: X-OriginatorOrg's)
  --format <text|json> output (default text)
  --scenario <file>    also write a scenario that replays the message's path on relaylab's
                       cast, expecting the classification the headers show
  -h, --help           this help

Only the header section is read (up to the first blank line, at most 4 MiB): a message with a
large attachment costs no more than its headers. UTF-8, Latin-1 and UTF-16 with a byte order
mark (Notepad's "Unicode", PowerShell 5.1's >) are read.

Exit codes: 0 explained; 2 bad input or usage (no header fields, no file, a header section past 4 MiB).

Examples:
  relaylab explain message.eml
  pbpaste | relaylab explain - --org contoso.com --org contoso.net
  relaylab explain message.eml --scenario scenarios/replay.yaml && relaylab run scenarios/replay.yaml
`;

const OPTIONS = {
  org: { type: 'string', multiple: true },
  format: { type: 'string' },
  scenario: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** scenarios/topologies as shipped beside this package in the repository. */
function bundledTopologies(): string {
  const dir = resolve(__dirname, '../../../../scenarios/topologies');
  if (!existsSync(dir)) throw new InputError(`--scenario needs the bundled topologies, not found at ${dir}`);
  return dir;
}

export function formatExplanation(e: Explanation): string {
  const out: string[] = [];
  const c = e.classification;
  out.push(`Message: ${e.subject ?? '(no subject)'}`, `From: ${e.from ?? '?'}   To: ${e.to.join(', ') || '?'}`, '');
  out.push(`Verdict: ${c.source === 'none' ? 'not classified by Exchange' : c.internal ? 'treated as INTERNAL' : `treated as EXTERNAL (AuthAs ${c.authAs})`}`);
  for (const r of c.reasons) out.push(`  - ${r}`);
  for (const p of c.problems) out.push(`  ! ${p}`);
  out.push('', `Hops (${e.hops.length}, oldest first):`);
  for (const h of e.hops) {
    const tls = h.tls
      ? `${h.tls.protocol ?? 'TLS'}${h.tls.cipher ? ` ${h.tls.cipher}` : ''}${h.tls.bits ? ` (${h.tls.bits} bits)` : ''}`
      : h.tls === null
        ? 'no TLS'
        : 'TLS not stated';
    out.push(
      `  ${h.index + 1}. ${h.from ?? '?'}${h.fromIp ? ` [${h.fromIp}]` : ''} → ${h.by ?? '?'}${h.byIp ? ` [${h.byIp}]` : ''}  (${h.kind}, written by ${h.writer})`,
    );
    out.push(`     TLS: ${tls}${h.date ? `   at ${h.date}` : ''}`);
    for (const conn of h.connectors) out.push(`     connector: ${conn}`);
    if (h.classifiedHere)
      out.push(`     classified here (${h.classifiedHere === 'organization' ? 'X-MS-Exchange-Organization-*' : 'X-MS-Exchange-CrossTenant-*'})`);
  }
  const org = e.stamps.organization;
  out.push('', 'Exchange organization headers:');
  if (!Object.keys(org).length) out.push('  (none)');
  if (org.authAs) out.push(`  AuthAs: ${org.authAs}`);
  if (org.authSource) out.push(`  AuthSource: ${org.authSource}  (the server that decided)`);
  if (org.authMechanism) out.push(`  AuthMechanism: ${org.authMechanism}  (a code seen in traces; Microsoft does not document the values)`);
  if (org.directionality) out.push(`  MessageDirectionality: ${org.directionality}`);
  if (org.scl) out.push(`  SCL: ${org.scl}`);
  if (e.stamps.crossPremises.length) out.push(`  not promoted: ${e.stamps.crossPremises.join(', ')}`);
  const tenant = Object.entries(e.stamps.crossTenant);
  out.push('', 'X-MS-Exchange-CrossTenant-*:');
  if (!tenant.length) out.push('  (none)');
  for (const [k, v] of tenant) out.push(`  ${k}: ${v}`);
  out.push('', `X-OriginatorOrg: ${e.stamps.originatorOrg ?? '(none)'}`);
  out.push('', `X-Forefront-Antispam-Report${e.antispam ? ` (meanings: ${ANTISPAM_HEADERS_URL})` : ': (none)'}`);
  for (const f of e.antispam ?? []) out.push(`  ${`${f.field}:${f.value}`.padEnd(24)} ${f.documented ? '' : '[undocumented] '}${f.meaning}`);
  out.push('', 'Authentication-Results:');
  if (!e.stamps.authenticationResults.length) out.push('  (none)');
  for (const a of e.stamps.authenticationResults) {
    out.push(`  by ${a.authservId || '(no authserv-id: Exchange Online writes none)'}`);
    for (const r of a.results)
      out.push(
        `    ${r.method}=${r.result}${r.comment ? ` (${r.comment})` : ''}${
          Object.keys(r.properties).length
            ? ` ${Object.entries(r.properties)
                .map(([k, v]) => `${k}=${v}`)
                .join(' ')}`
            : ''
        }`,
      );
  }
  return `${out.join('\n')}\n`;
}

export function explainCommand(args: string[], io: Io): Promise<number> {
  return guarded('explain', io, EXPLAIN_HELP, async () => {
    let parsed;
    try {
      parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      io.out.write(EXPLAIN_HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('name one message file, or - for standard input');
    const format = values.format ?? 'text';
    if (format !== 'text' && format !== 'json') throw new UsageError(`--format expects text or json, got "${format}"`);
    let raw: Buffer;
    try {
      raw = await readMessageHeaders(positionals[0]!, process.stdin);
    } catch (e) {
      if (e instanceof MessageInputError) throw new InputError(e.message);
      throw e;
    }
    if (!raw.length) throw new InputError('the message is empty');
    const explanation = explainMessage(raw, values.org?.length ? { organizationDomains: values.org } : {});
    if (!explanation.hops.length && explanation.classification.source === 'none')
      throw new InputError('no Received or Exchange header fields found: is this a message header section?');
    io.out.write(format === 'json' ? `${JSON.stringify(explanation, null, 2)}\n` : formatExplanation(explanation));
    if (values.scenario) {
      const file = resolve(values.scenario);
      const topologies = bundledTopologies();
      const name = file.replace(/^.*\//, '').replace(/\.ya?ml$/, '');
      const { text, replay } = replayScenario(
        explanation,
        name,
        (t) => relative(dirname(file), join(topologies, t)),
        relative(dirname(file), resolve(topologies, '../../schemas/scenario.schema.json')),
      );
      try {
        writeFileSync(file, text);
      } catch (e) {
        throw new InputError(`--scenario: ${(e as Error).message}`);
      }
      io.err.write(`scenario: ${file} (${replay.path.join(' → ')} on ${replay.topology}${replay.unsupported ? `; not exact: ${replay.unsupported}` : ''})\n`);
    }
    return 0;
  });
}
