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
function sideOf(file: string, cmdlet: Cmdlet, properties: Record<string, unknown>): { side: Side; told: 'path' | 'session' | 'cmdlet' | 'assumed' } {
  const parts = path.resolve(file).split(path.sep).slice(-3).join('/').toLowerCase();
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
 * BOM says which.
 */
export function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2)).swap16().toString('utf16le');
  return bytes.toString('utf8').replace(/^\uFEFF/, '');
}

/** Export files under `paths` (files or folders, walked recursively), sorted. */
export function exportFiles(paths: string[]): string[] {
  const found: string[] = [];
  const walk = (p: string): void => {
    const stat = fs.statSync(p);
    if (stat.isDirectory()) {
      for (const entry of fs.readdirSync(p).sort()) if (!entry.startsWith('.')) walk(path.join(p, entry));
    } else if (/\.(json|csv|xml)$/i.test(p)) {
      found.push(p);
    }
  };
  for (const p of paths) {
    if (!fs.existsSync(p)) throw new Error(`not found: ${p}`);
    walk(p);
  }
  return [...new Set(found)].sort();
}

/** `base`: the folder file names are shown relative to (default: as given). */
export function readExports(paths: string[], base?: string): { objects: ExportedObject[]; unread: UnreadExport[] } {
  const objects: ExportedObject[] = [];
  const unread: UnreadExport[] = [];
  for (const file of exportFiles(paths)) {
    const display = (base === undefined ? file : path.relative(base, path.resolve(file))).split(path.sep).join('/');
    let read;
    try {
      const text = decodeText(fs.readFileSync(file));
      read = /\.csv$/i.test(file) ? readCsvExport(text) : /\.xml$/i.test(file) ? readClixmlExport(text) : readJsonExport(text);
    } catch (error) {
      unread.push({ file: display, reason: `cannot read it: ${(error as Error).message}` });
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
      const { side, told } = sideOf(file, cmdlet, properties);
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
  return { objects, unread };
}
