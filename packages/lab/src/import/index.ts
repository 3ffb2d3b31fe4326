/**
 * `relaylab import`: Exchange's exports (ConvertTo-Json from Windows PowerShell 5.1 or
 * PowerShell 7, Export-Csv) → a topology file, the certificates to make, and what could not be
 * mapped. See docs/exchange.md, "What administrators export".
 */
import * as fs from 'fs';
import * as path from 'path';
import { describeNotSimulated } from '@relaylab/core';
import { readExports } from './exports';
import { mapTopology, type CertificateToMake, type ImportResult } from './map-topology';
import { topologyYaml } from './write-yaml';

export type { CertificateToMake, ImportResult } from './map-topology';
export { readCsvExport, parseCsv } from './read-csv';
export { readJsonExport } from './read-json';

export interface ImportOutput extends ImportResult {
  yaml: string;
  /** Files read, each with the format it was read as and how many objects it held. */
  files: string[];
}

/**
 * `now` judges certificate validity; `base` is the folder the comments' file names are relative
 * to; `output` is where the YAML will be written, for the path to the schema an editor follows.
 */
export function importExports(paths: string[], options: { now?: Date; base?: string; output?: string } = {}): ImportOutput {
  const { objects, unread } = readExports(paths, options.base);
  const result = mapTopology(objects, unread, options);
  const files = [...new Set(objects.map((o) => `${o.file} (${o.cmdlet}, ${o.format})`))];
  const notSimulated = describeNotSimulated(result.notSimulated);
  const header = [
    `yaml-language-server: $schema=${schemaReference(options.output)}`,
    '',
    'Written by `relaylab import`; each setting says which export it came from. Read from:',
    ...files.map((f) => `  ${f}`),
    ...(notSimulated ? ['', ...wrap(`${notSimulated}.`, 100)] : []),
  ];
  return { ...result, files, yaml: topologyYaml(result.topology, result.notes, header) };
}

/**
 * The topology schema relative to the file written (where the loader finds it: in the installed
 * package, or at the repository's root), else where it is in the repository.
 */
function schemaReference(output: string | undefined): string {
  const schema = [path.resolve(__dirname, '../../schemas'), path.resolve(__dirname, '../../../../schemas')]
    .map((dir) => path.join(dir, 'topology.schema.json'))
    .find((file) => fs.existsSync(file));
  if (!output || !schema) return '../../schemas/topology.schema.json';
  return path
    .relative(path.dirname(path.resolve(output)), schema)
    .split(path.sep)
    .join('/');
}

/** The report printed after an import: what could not be mapped and why, and the certificates to make. */
export function importReport(output: ImportOutput): string {
  const lines: string[] = [];
  lines.push(`read ${output.files.length} file(s)`);
  const notSimulated = describeNotSimulated(output.notSimulated);
  if (notSimulated) lines.push(notSimulated);
  lines.push('', `certificates to make (relaylab certs / relaylab run make them from the topology):`);
  for (const c of output.certificates) lines.push(`  ${certificateLine(c)}`);
  if (output.unmapped.length > 0) {
    lines.push('', `not mapped (${output.unmapped.length}):`);
    for (const u of output.unmapped) lines.push(`  ${u.file}${u.identity ? ` ${JSON.stringify(u.identity)}` : ''}: ${u.reason}`);
  }
  return `${lines.join('\n')}\n`;
}

function certificateLine(c: CertificateToMake): string {
  const sans = c.sans.length > 0 ? `, names ${c.sans.join(', ')}` : '';
  return `${c.name}: CN=${c.subject}${sans}${c.notAfter ? `, NotAfter ${c.notAfter}` : ''} (from ${c.from})`;
}

/** Words into lines of at most `width` characters, for a comment a reader can take in. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  return line ? [...lines, line] : lines;
}
