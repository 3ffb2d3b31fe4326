import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describeCertificate, lintTopology, type CertificateFacts, type LintFinding, type LintResult, type Topology } from '@relaylab/core';
import { loadScenarioFile, loadTopologyFile } from '@relaylab/lab';
import { certificateOf, Pki } from '@relaylab/pki';
import { guarded, InputError, parseWithEnv, UsageError, type Io } from './shared';

export const LINT_HELP = `Usage: relaylab lint <topology|scenario> [more...] [options]

Static checks of known Exchange hybrid pitfalls: certificate names and expiry, TLS settings that
cannot hold, a device between on premises and Exchange Online, the hybrid receive connector open
to any tenant (and the X-OriginatorOrg rule's side effects), routing that cannot work, MX records
that disagree with the topology. Each finding names the connector and parameter at fault, why it
breaks mail flow, where that is documented, and a fix. A scenario file is linted on its topology
as patched. A topology can declare findings it shows on purpose under lint.accept.

Options:
  --format <text|json>     output (default text)
  --certs <dir>            certificate cache the names and expiry dates are read from
                           (default: ./certs, or $RELAYLAB_CERTS)
  --expiry-warning <days>  report certificates that expire within this many days (default 30)
  --fail-on <error|warning>  the lowest severity that makes the exit code 1 (default error)
  -h, --help               this help

Exit codes: 0 no finding at the --fail-on severity; 1 such findings; 2 bad input or usage.
`;

const OPTIONS = {
  format: { type: 'string' },
  certs: { type: 'string' },
  'expiry-warning': { type: 'string' },
  'fail-on': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** A scenario names its topology; a topology has `nodes` at the top. */
function loadLintTarget(file: string): Topology {
  const path = resolve(file);
  let text: string;
  try {
    // A pipe or device would be read until it ends, which may be never.
    if (!statSync(path).isFile()) throw new Error('not a file (a folder, a pipe or a device)');
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: ${(e as Error).message}`);
  }
  try {
    return /^(messages|topology):/m.test(text) && !/^nodes:/m.test(text) ? loadScenarioFile(path).topology : loadTopologyFile(path);
  } catch (e) {
    throw new InputError((e as Error).message);
  }
}

/** Names and validity of every certificate, as the PKI made (or reused) them. */
async function certificateFacts(topology: Topology, dir: string): Promise<Record<string, CertificateFacts>> {
  const made = await new Pki({ dir }).forTopology(topology);
  const facts: Record<string, CertificateFacts> = {};
  for (const [name, c] of made.certificates) {
    const info = describeCertificate(certificateOf(c.certPem));
    facts[name] = {
      ...(info.commonName !== undefined && { commonName: info.commonName }),
      sans: info.sans,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
    };
  }
  return facts;
}

function formatFinding(f: LintFinding): string {
  const where = [f.connector, f.parameter].filter(Boolean).join(' · ');
  const lines = [
    `${f.severity.padEnd(7)} ${f.check}${f.node ? ` (node ${f.node})` : ''}: ${where}`,
    `  ${f.message}`,
    `  why: ${f.why}`,
    `  fix: ${f.fix}`,
    `  see: ${f.reference.title}${f.reference.url ? ` <${f.reference.url}>` : ''}`,
  ];
  return lines.join('\n');
}

export function formatLintText(file: string, result: LintResult): string {
  const errors = result.findings.filter((f) => f.severity === 'error').length;
  const warnings = result.findings.length - errors;
  const out = [`${file}: ${errors} error(s), ${warnings} warning(s)${result.accepted.length ? `, ${result.accepted.length} accepted` : ''}`];
  for (const f of result.findings) out.push('', formatFinding(f));
  for (const a of result.accepted) out.push(`accepted ${a.finding.check}${a.finding.node ? ` (node ${a.finding.node})` : ''}: ${a.because}`);
  for (const u of result.unusedAcceptances) out.push(`note: lint.accept for ${u.check}${u.node ? ` on ${u.node}` : ''} matched no finding`);
  return `${out.join('\n')}\n`;
}

export function lintCommand(args: string[], io: Io): Promise<number> {
  return guarded('lint', io, LINT_HELP, async () => {
    const { values, positionals } = parseWithEnv(args, OPTIONS, true);
    if (values.help) {
      io.out.write(LINT_HELP);
      return 0;
    }
    if (!positionals.length) throw new UsageError('name a topology or scenario file');
    const format = (values.format as string | undefined) ?? 'text';
    if (format !== 'text' && format !== 'json') throw new UsageError(`--format expects text or json, got "${format}"`);
    const failOn = (values['fail-on'] as string | undefined) ?? 'error';
    if (failOn !== 'error' && failOn !== 'warning') throw new UsageError(`--fail-on expects error or warning, got "${failOn}"`);
    const days = Number((values['expiry-warning'] as string | undefined) ?? 30);
    if (!Number.isInteger(days) || days < 0) throw new UsageError(`--expiry-warning expects a whole number of days, got "${values['expiry-warning']}"`);
    const certsDir = resolve((values.certs as string | undefined) ?? process.env.RELAYLAB_CERTS ?? 'certs');

    const reports: Array<{ file: string } & LintResult> = [];
    for (const file of positionals) {
      const topology = loadLintTarget(file);
      let certificates;
      try {
        certificates = await certificateFacts(topology, certsDir);
      } catch (e) {
        throw new InputError(`${file}: certificates: ${(e as Error).message}`);
      }
      reports.push({ file, ...lintTopology({ topology, certificates, now: new Date(), expiryWarningDays: days }) });
    }
    if (format === 'json') io.out.write(`${JSON.stringify({ files: reports }, null, 2)}\n`);
    else io.out.write(reports.map((r) => formatLintText(r.file, r)).join('\n'));
    const failing = reports.some((r) => r.findings.some((f) => f.severity === 'error' || failOn === 'warning'));
    return failing ? 1 : 0;
  });
}
