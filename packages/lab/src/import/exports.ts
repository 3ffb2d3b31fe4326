/**
 * The exported objects in a set of files and folders: each with its file, its cmdlet (told by
 * its properties, else the file name or `#TYPE`), and the side it came from (told by the path,
 * else by the PowerShell session it came through, else by the cmdlet).
 */
import * as fs from 'fs';
import * as path from 'path';
import { readClixmlExport } from './read-clixml';
import { readCsvExport } from './read-csv';
import { readJsonExport, type ExportFormat } from './read-json';

export type Cmdlet =
  | 'Get-AcceptedDomain'
  | 'Get-RemoteDomain'
  | 'Get-SendConnector'
  | 'Get-ReceiveConnector'
  | 'Get-InboundConnector'
  | 'Get-OutboundConnector'
  | 'Get-TransportRule'
  | 'Get-HostedConnectionFilterPolicy'
  | 'Get-HostedContentFilterPolicy'
  | 'Get-ExchangeCertificate'
  | 'Get-HybridConfiguration'
  | 'Get-TransportConfig'
  | 'Get-ADPermission'
  | 'Get-Mailbox'
  | 'Get-RemoteMailbox';

export type Side = 'on-premises' | 'exchange-online';

export interface ExportedObject {
  /** As given on the command line (or relative to the base folder): it is what comments cite. */
  file: string;
  format: ExportFormat;
  cmdlet: Cmdlet;
  side: Side;
  properties: Record<string, unknown>;
  /** Identity, else Name, else the position in the file: how comments and the report name it. */
  identity: string;
}

/** Files that could not be read as exports, each with why (and where in it). */
export class UnreadableExportError extends Error {
  constructor(readonly files: string[]) {
    super(files.length === 1 ? `cannot read ${files[0]}` : `cannot read ${files.length} files:\n${files.map((f) => `  ${f}`).join('\n')}`);
  }
}

export interface UnreadExport {
  file: string;
  identity?: string;
  reason: string;
}

const has = (p: Record<string, unknown>, ...names: string[]) => names.every((n) => n in p);

/** Told by the properties only the cmdlet's output has together. */
const SIGNATURES: Array<[Cmdlet, (p: Record<string, unknown>) => boolean]> = [
  ['Get-InboundConnector', (p) => has(p, 'SenderDomains', 'ConnectorType') && ('TlsSenderCertificateName' in p || 'EFSkipIPs' in p)],
  ['Get-OutboundConnector', (p) => has(p, 'RecipientDomains') && ('UseMXRecord' in p || 'TlsSettings' in p)],
  ['Get-ReceiveConnector', (p) => has(p, 'Bindings', 'RemoteIPRanges')],
  ['Get-SendConnector', (p) => has(p, 'AddressSpaces')],
  ['Get-TransportRule', (p) => has(p, 'Priority') && ('Conditions' in p || 'Actions' in p || 'Mode' in p)],
  ['Get-AcceptedDomain', (p) => has(p, 'DomainName', 'DomainType')],
  ['Get-RemoteDomain', (p) => has(p, 'DomainName') && ('AutoReplyEnabled' in p || 'AllowedOOFType' in p)],
  ['Get-ExchangeCertificate', (p) => has(p, 'Thumbprint') && ('CertificateDomains' in p || 'Subject' in p)],
  ['Get-HybridConfiguration', (p) => 'OnPremisesSmartHost' in p || has(p, 'Features', 'Domains', 'TlsCertificateName')],
  ['Get-TransportConfig', (p) => has(p, 'TLSReceiveDomainSecureList') || has(p, 'MaxRecipientEnvelopeLimit', 'ShadowRedundancyEnabled')],
  ['Get-HostedConnectionFilterPolicy', (p) => has(p, 'IPAllowList') || has(p, 'IPBlockList', 'EnableSafeList')],
  ['Get-HostedContentFilterPolicy', (p) => has(p, 'SpamAction') || has(p, 'BulkThreshold')],
  ['Get-ADPermission', (p) => has(p, 'ExtendedRights', 'User')],
  ['Get-RemoteMailbox', (p) => has(p, 'RemoteRoutingAddress')],
  ['Get-Mailbox', (p) => has(p, 'PrimarySmtpAddress')],
];

const CLOUD_ONLY: Cmdlet[] = ['Get-InboundConnector', 'Get-OutboundConnector', 'Get-HostedConnectionFilterPolicy', 'Get-HostedContentFilterPolicy'];

function cmdletOf(properties: Record<string, unknown>, file: string, typeName: string | undefined): Cmdlet | undefined {
  const bySignature = SIGNATURES.find(([, test]) => test(properties))?.[0];
  if (bySignature) return bySignature;
  const named = /Get-(\w+)/i.exec(path.basename(file))?.[1] ?? /\.(\w+)$/.exec(typeName ?? '')?.[1];
  return SIGNATURES.map(([c]) => c).find((c) => named !== undefined && c.toLowerCase() === `get-${named.toLowerCase()}`);
}

/** The side a file's objects come from; `sideHint` says how it was told, for the report. */
function sideOf(
  file: string,
  cmdlet: Cmdlet,
  properties: Record<string, unknown>,
  roots: string[],
): { side: Side; told: 'path' | 'session' | 'cmdlet' | 'assumed' } {
  const parts = folderHint(file, roots).toLowerCase();
  if (/on-?prem|premises|exchange-server/.test(parts)) return { side: 'on-premises', told: 'path' };
  if (/online|\bexo\b|cloud|365|tenant/.test(parts)) return { side: 'exchange-online', told: 'path' };
  const computer = typeof properties.PSComputerName === 'string' ? properties.PSComputerName.toLowerCase() : '';
  if (/(^|\.)(outlook\.office365\.com|outlook\.com|office365\.us)$/.test(computer)) return { side: 'exchange-online', told: 'session' };
  if (computer) return { side: 'on-premises', told: 'session' };
  if (CLOUD_ONLY.includes(cmdlet)) return { side: 'exchange-online', told: 'cmdlet' };
  const onPremisesOnly: Cmdlet[] = [
    'Get-SendConnector',
    'Get-ReceiveConnector',
    'Get-ExchangeCertificate',
    'Get-HybridConfiguration',
    'Get-ADPermission',
    'Get-Mailbox',
    'Get-RemoteMailbox',
  ];
  return { side: 'on-premises', told: onPremisesOnly.includes(cmdlet) ? 'cmdlet' : 'assumed' };
}

/**
 * Windows PowerShell 5.1 writes UTF-16 (`>` redirection, Export-Clixml) or UTF-8 with a BOM; the
 * BOM says which. Without one, text that is not UTF-8 is read as Windows-1252.
 */
export function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    // Not UTF-8: Export-Csv -Encoding Default (and Out-File in some hosts) writes the ANSI code page, Windows-1252 in the West.
    return windows1252(bytes);
  }
}

/** 0x80-0x9F of Windows-1252 (Node's TextDecoder reads that label as ISO-8859-1); the rest is Latin-1. */
const CP1252_HIGH = '€\u0081‚ƒ„…†‡ˆ‰Š‹Œ\u008DŽ\u008F\u0090‘’“”•–—˜™š›œ\u009DžŸ';

function windows1252(bytes: Buffer): string {
  return bytes.toString('latin1').replace(/[\x80-\x9f]/g, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80]!);
}

/** An organization's exports are a few dozen files; past this the folder given is not a folder of exports. */
export const MAX_EXPORT_FILES = 1000;
/** Get-Mailbox of a large organization with every property is big; past this, Select-Object the properties. */
/** Files and folders looked at while walking: `relaylab import ~` should stop, not walk the disk. */
export const MAX_ENTRIES_WALKED = 50_000;
export const MAX_EXPORT_BYTES = 128 * 1024 * 1024;

/**
 * Export files under `paths` (files or folders, walked recursively), sorted. A folder reached
 * twice (a symbolic link back up the tree) is walked once.
 */
export function exportFiles(paths: string[]): string[] {
  const found = new Set<string>();
  const walked = new Set<string>();
  let seen = 0;
  const walk = (p: string, top: boolean): void => {
    let stat;
    try {
      stat = fs.statSync(p);
    } catch (e) {
      // A dangling or looping link inside a folder is not an export; one named on the command line is an error.
      if (top) throw new Error(`${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (e as Error).message}`);
      return;
    }
    if (stat.isDirectory()) {
      const real = fs.realpathSync(p);
      if (walked.has(real)) return;
      walked.add(real);
      let entries: string[];
      try {
        entries = fs.readdirSync(p).sort();
      } catch (e) {
        throw new Error(`${p}: ${(e as Error).message}`);
      }
      seen += entries.length;
      if (seen > MAX_ENTRIES_WALKED)
        throw new Error(`more than ${MAX_ENTRIES_WALKED} entries under ${paths.join(', ')}: name the folder that holds the exports`);
      for (const entry of entries) if (!entry.startsWith('.')) walk(path.join(p, entry), false);
    } else if (!stat.isFile()) {
      // A pipe or a device would be read until it ends, which may be never.
      if (top) throw new Error(`${p}: not a file or a folder (a pipe or a device): save the export to a file`);
    } else if (/\.(json|csv|xml)$/i.test(p)) {
      found.add(p);
      if (found.size > MAX_EXPORT_FILES)
        throw new Error(`more than ${MAX_EXPORT_FILES} .json, .csv and .xml files under ${paths.join(', ')}: name the folder that holds the exports`);
    }
  };
  for (const p of paths) walk(p, true);
  return [...found].sort();
}

/** Text that is no export: NUL bytes (binary data), or UTF-16 without its byte order mark. */
function binaryAt(text: string): number {
  return text.slice(0, 1 << 16).indexOf('\u0000');
}

function readExportText(file: string): string {
  const size = fs.statSync(file).size;
  if (size > MAX_EXPORT_BYTES)
    throw new Error(
      `${Math.round(size / 1024 / 1024)} MiB, more than the ${MAX_EXPORT_BYTES / 1024 / 1024} MiB read: export only the properties needed (Select-Object)`,
    );
  const text = decodeText(fs.readFileSync(file));
  const nul = binaryAt(text);
  if (nul >= 0)
    throw new Error(
      `a NUL character at line ${text.slice(0, nul).split('\n').length}: binary data, or UTF-16 without its byte order mark (re-save it as UTF-8), not a text export`,
    );
  return text;
}

/**
 * The part of a file's path that can say which side it came from: from the folder named on the
 * command line (or the file's own folder) down. Folders above it (`~/cloud-migration/`) say
 * nothing about the exports.
 */
function folderHint(file: string, roots: string[]): string {
  const resolved = path.resolve(file);
  const root = roots
    .map((r) => path.resolve(r))
    .filter((r) => resolved === r || resolved.startsWith(`${r}${path.sep}`))
    .sort((a, b) => b.length - a.length)[0];
  const top = root === undefined || root === resolved ? path.dirname(resolved) : root;
  return path.relative(path.dirname(top), resolved).split(path.sep).join('/');
}

/** `base`: the folder file names are shown relative to (default: as given). */
export function readExports(paths: string[], base?: string): { objects: ExportedObject[]; unread: UnreadExport[] } {
  const objects: ExportedObject[] = [];
  const unread: UnreadExport[] = [];
  const unreadable: string[] = [];
  for (const file of exportFiles(paths)) {
    const relative = base === undefined ? file : path.relative(base, path.resolve(file));
    // Outside the base folder, the path as given reads better than a climb of ../
    const display = (relative.startsWith('..') ? file : relative).split(path.sep).join('/');
    let read;
    try {
      const text = readExportText(file);
      read = /\.csv$/i.test(file) ? readCsvExport(text) : /\.xml$/i.test(file) ? readClixmlExport(text) : readJsonExport(text);
    } catch (error) {
      unreadable.push(`${display}: ${(error as Error).message}`);
      continue;
    }
    read.records.forEach((properties, i) => {
      const identity =
        [properties.Identity, properties.Name, properties.DomainName, properties.Thumbprint].find((v): v is string => typeof v === 'string' && v !== '') ??
        `item ${i + 1}`;
      const cmdlet = cmdletOf(properties, file, read.typeName);
      if (!cmdlet) {
        unread.push({
          file: display,
          identity,
          reason: 'could not tell which cmdlet made it (no property set of a known cmdlet, no Get-<Noun> in the file name)',
        });
        return;
      }
      const { side, told } = sideOf(file, cmdlet, properties, paths);
      if (told === 'assumed') {
        unread.push({
          file: display,
          identity,
          reason: `${cmdlet} runs on both sides and nothing said which: taken as on-premises (put exchange-online or on-premises in the folder name)`,
        });
      }
      objects.push({ file: display, format: read.format, cmdlet, side, properties, identity });
    });
  }
  // A topology missing what a corrupt file held would rehearse the wrong organization: refuse, naming each file.
  if (unreadable.length > 0) throw new UnreadableExportError(unreadable);
  return { objects, unread };
}
