import * as fs from 'node:fs';
import * as path from 'node:path';
import { importExports, importReport, loadTopologyFile, ScenarioFileError } from '@relaylab/lab';
import { guarded, InputError, parseWithEnv, UsageError, type Io } from './shared';

export const IMPORT_HELP = `Usage: relaylab import <folder|file>... [-o topology.yaml] [--at <date>]

Reads what administrators export from Exchange Server and Exchange Online — accepted and remote
domains, send and receive connectors, inbound and outbound connectors, transport rules,
connection-filter policy, Get-ExchangeCertificate, Get-HybridConfiguration, Get-TransportConfig,
Get-ADPermission, Get-Mailbox, Get-RemoteMailbox — as ConvertTo-Json (Windows PowerShell 5.1 or PowerShell 7),
Export-Csv or Export-Clixml output, and writes a topology relaylab runs. Each setting carries a
comment saying which file and object it came from; the report on stderr lists the certificates
to make and what could not be mapped, and why.

Put exports of each side in a folder whose name says which (on-premises, exchange-online), or
let the cmdlet and the PowerShell session (PSComputerName) tell.

  -o, --output <file>  write the topology there (default: stdout); it is then loaded as
                       relaylab run would, and the command fails if it does not load
  --at <date>          judge certificate validity at this date (ISO 8601; default now)
  -h, --help           this help

Exit codes: 0 written (and, with -o, it loads); 1 written but it does not load as a topology;
2 bad input or usage: nothing found, or an export that cannot be read (each named, with the
line where it breaks), in which case nothing is written.

Example: relaylab import exports/ -o topologies/ours.yaml && relaylab lint topologies/ours.yaml
`;

const OPTIONS = {
  output: { type: 'string', short: 'o' },
  at: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function importCommand(args: string[], io: Io): Promise<number> {
  return guarded('import', io, IMPORT_HELP, async () => {
    const { values, positionals } = parseWithEnv(args, OPTIONS, true);
    if (values.help) {
      io.out.write(IMPORT_HELP);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError('name the exported files or the folders that hold them');
    const at = values.at as string | undefined;
    const now = at === undefined ? new Date() : new Date(at);
    if (Number.isNaN(now.getTime())) throw new UsageError(`--at: expected an ISO 8601 date; found ${JSON.stringify(at)}`);
    let output;
    try {
      output = importExports(positionals, { now, base: process.cwd(), ...(values.output !== undefined && { output: values.output as string }) });
    } catch (e) {
      throw new InputError((e as Error).message);
    }
    if (output.files.length === 0) {
      const why = output.unmapped
        .filter((u) => u.file !== '(none)')
        .map((u) => `\n  ${u.file}${u.identity ? ` ${JSON.stringify(u.identity)}` : ''}: ${u.reason}`)
        .join('');
      throw new InputError(`no Exchange exports (.json, .csv, .xml) ${why ? 'recognized' : 'found'} in ${positionals.join(', ')}${why}`);
    }
    io.err.write(importReport(output));
    const file = values.output as string | undefined;
    if (file === undefined) {
      io.out.write(output.yaml);
      return 0;
    }
    try {
      makeFolders(path.dirname(path.resolve(file)));
      fs.writeFileSync(file, output.yaml);
    } catch (e) {
      throw new InputError(`-o ${file}: ${(e as Error).message}`);
    }
    try {
      loadTopologyFile(file);
    } catch (e) {
      if (!(e instanceof ScenarioFileError)) throw e;
      io.err.write(`\n${e.message}\nrelaylab import: wrote ${file}, but it does not load as a topology (above); please report this with the exports\n`);
      return 1;
    }
    io.err.write(`\nwrote ${file}; it loads as a topology\n`);
    return 0;
  });
}

/**
 * The missing folders of `dir`, made one at a time from the nearest that exists: Node's recursive
 * mkdir spins forever under /proc, where a folder can exist and refuse children.
 */
function makeFolders(dir: string): void {
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) fs.mkdirSync(d);
}
