/**
 * Exported objects → a topology relaylab runs. The organization's two Exchange nodes take the
 * connectors, rules and policies as exported (read as the loader reads them, see core's
 * topology-values.ts); the hosts around them that the exports only imply (a partner, a filtering
 * service, a relaying device, the Internet) are made from what the connectors say of them, on
 * loopback addresses of their own. Every setting carries where it came from; what cannot be
 * mapped is reported with the reason.
 */
import {
  commonName,
  normalizeTopologyValues,
  parseCertificateName,
  parsePowerShellBoolean,
  readValue,
  READ_ONLY_PROPERTIES,
  TOPOLOGY_OBJECT_PROPERTIES,
  TRANSPORT_RULE_BOOKKEEPING,
  type CertificateSpec,
  type CmdletProperties,
  type NodeSpec,
  type NotSimulated,
  type Topology,
  type TopologyObjectField,
  type ValuePath,
} from '@relaylab/core';
import type { Cmdlet, ExportedObject, Side, UnreadExport } from './exports';

export interface ImportNote {
  path: ValuePath;
  comment: string;
}

export interface CertificateToMake {
  name: string;
  subject: string;
  sans: string[];
  notAfter?: string;
  from: string;
}

export interface ImportResult {
  topology: Topology;
  /** Comments for the YAML: where each setting came from. */
  notes: ImportNote[];
  /** What could not be mapped, and why. */
  unmapped: UnreadExport[];
  notSimulated: NotSimulated[];
  certificates: CertificateToMake[];
}

type Mutable = Record<string, unknown>;

const FIELD_OF: Partial<Record<Cmdlet, TopologyObjectField>> = {
  'Get-InboundConnector': 'inboundConnectors',
  'Get-OutboundConnector': 'outboundConnectors',
  'Get-ReceiveConnector': 'receiveConnectors',
  'Get-SendConnector': 'sendConnectors',
  'Get-TransportRule': 'transportRules',
  'Get-HostedConnectionFilterPolicy': 'hostedConnectionFilterPolicy',
  'Get-HostedContentFilterPolicy': 'hostedContentFilterPolicy',
  'Get-TransportConfig': 'transportConfig',
};

/** Relay rights the lab models (receive connector ExtendedRights). */
const MODELLED_RIGHTS = [
  'ms-Exch-SMTP-Accept-Any-Recipient',
  'ms-Exch-SMTP-Accept-Any-Sender',
  'ms-Exch-SMTP-Accept-Authoritative-Domain-Sender',
  'ms-Exch-Accept-Headers-Organization',
  'ms-Exch-Accept-Headers-Routing',
];

const IP_FIELDS: Partial<Record<TopologyObjectField, string[]>> = {
  inboundConnectors: ['SenderIPAddresses', 'EFSkipIPs'],
  receiveConnectors: ['RemoteIPRanges'],
  transportRules: ['SenderIPRanges', 'ExceptIfSenderIPRanges'],
  hostedConnectionFilterPolicy: ['IPAllowList'],
};

/**
 * Exchange Online's sending addresses as Microsoft publishes them ("Microsoft 365 URLs and IP
 * address ranges", Exchange Online, ID 9): a rule scoped to them (the X-OriginatorOrg rule) is
 * scoped to the lab's Exchange Online node.
 */
const EXCHANGE_ONLINE_RANGES = [
  '40.92.0.0/15',
  '40.107.0.0/16',
  '52.100.0.0/15',
  '52.102.0.0/16',
  '52.103.0.0/16',
  '104.47.0.0/17',
  '2a01:111:f400::/48',
  '2a01:111:f403::/48',
];

const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);
const list = (v: unknown): string[] => {
  const read = readValue('stringList', v);
  return 'value' in read && Array.isArray(read.value) ? read.value.filter((x): x is string => typeof x === 'string' && x !== '') : [];
};
const slug = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
const source = (o: ExportedObject) => `${o.file}, ${JSON.stringify(o.identity)}`;
const isAllAddresses = (range: string) => /^(0\.0\.0\.0-255\.255\.255\.255|0\.0\.0\.0\/0|::-ffff(:ffff){7}|::\/0)$/i.test(range);

export function mapTopology(objects: ExportedObject[], unread: UnreadExport[], options: { now?: Date } = {}): ImportResult {
  const now = options.now ?? new Date();
  const notes: ImportNote[] = [];
  const unmapped: UnreadExport[] = [...unread];
  const certificates: CertificateToMake[] = [];
  const note = (path: ValuePath, comment: string) => notes.push({ path, comment });
  const refuse = (o: ExportedObject, reason: string) => unmapped.push({ file: o.file, identity: o.identity, reason });
  const of = (cmdlet: Cmdlet, side?: Side) => objects.filter((o) => o.cmdlet === cmdlet && (side === undefined || o.side === side));

  // The organization: its accepted domains, from both sides.
  const accepted = of('Get-AcceptedDomain');
  const domains = [...new Set(accepted.map((o) => text(o.properties.DomainName)?.toLowerCase()).filter((d): d is string => !!d))];
  const defaultDomain =
    accepted.map((o) => (parsePowerShellBoolean(o.properties.Default) ? text(o.properties.DomainName)?.toLowerCase() : undefined)).find((d) => !!d) ??
    domains.find((d) => !d.endsWith('.onmicrosoft.com')) ??
    'contoso.example';
  if (accepted.length === 0) unmapped.push({ file: '(none)', reason: `no Get-AcceptedDomain export: the organization's domain is taken as ${defaultDomain}` });
  const orgName = slug(defaultDomain.split('.')[0] ?? 'organization');
  const coexistence = domains.find((d) => d.endsWith('.mail.onmicrosoft.com'));
  const initial =
    accepted.map((o) => (parsePowerShellBoolean(o.properties.InitialDomain) ? text(o.properties.DomainName)?.toLowerCase() : undefined)).find((d) => !!d) ??
    domains.find((d) => d.endsWith('.onmicrosoft.com') && !d.endsWith('.mail.onmicrosoft.com'));
  const publicDomains = domains.filter((d) => !d.endsWith('.onmicrosoft.com'));

  const hybrid = of('Get-HybridConfiguration')[0];
  const onpremHost = text(hybrid?.properties.OnPremisesSmartHost)?.toLowerCase() ?? `mail.${defaultDomain}`;
  const eopHost = `${defaultDomain.replace(/\./g, '-')}.mail.protection.outlook.com`;

  const topology: Topology & { authorities: NonNullable<Topology['authorities']>; certificates: NonNullable<Topology['certificates']> } = {
    name: `imported-${orgName}`,
    authorities: { 'lab-public': { commonName: 'Relaylab Public Root CA' } },
    certificates: {},
    organizations: { [orgName]: { domains } },
    nodes: {},
    dns: { mx: {} },
  };
  note(
    ['authorities', 'lab-public'],
    'made by relaylab import: issues the certificates of hosts the exports only imply (Exchange Online, partners, the Internet)',
  );
  note(['organizations', orgName, 'domains'], `accepted domains, from ${[...new Set(accepted.map((o) => o.file))].join(', ') || 'no export'}`);

  // The two Exchange nodes.
  const onprem: NodeSpec & Mutable = { role: 'exchange-server', hostname: onpremHost, address: '127.0.0.10', organization: orgName };
  const eop: NodeSpec & Mutable = { role: 'exchange-online', hostname: eopHost, address: '127.0.0.20', organization: orgName, certificate: 'eop' };
  topology.nodes.onprem = onprem;
  topology.nodes.eop = eop;
  note(
    ['nodes', 'onprem', 'hostname'],
    hybrid ? `OnPremisesSmartHost, from ${source(hybrid)}` : 'no Get-HybridConfiguration export: mail.<default accepted domain>',
  );
  note(['nodes', 'eop', 'hostname'], `Exchange Online's endpoint for ${defaultDomain}, the default accepted domain`);
  topology.certificates.eop = {
    subject: 'mail.protection.outlook.com',
    sans: ['mail.protection.outlook.com', '*.mail.protection.outlook.com'],
    issuer: 'lab-public',
  };
  note(['certificates', 'eop'], "made by relaylab import: Microsoft's certificate is not in any export");

  // Connectors, rules and policies, as exported.
  const raw: { nodes: Record<string, Mutable> } = { nodes: { onprem: {}, eop: {} } };
  const origin = new Map<string, ExportedObject>();
  for (const o of objects) {
    const field = FIELD_OF[o.cmdlet];
    if (!field) continue;
    const nodeName = o.side === 'exchange-online' ? 'eop' : 'onprem';
    const cloudField = field === 'inboundConnectors' || field === 'outboundConnectors' || field.startsWith('hosted');
    // Exchange Online has a transport config too, but none of what the lab models of it.
    if (field === 'transportConfig' && o.side === 'exchange-online') {
      refuse(o, "Exchange Online's transport config holds nothing the lab simulates");
      continue;
    }
    if (cloudField !== (o.side === 'exchange-online') && field !== 'transportRules' && field !== 'transportConfig') {
      refuse(o, `${o.cmdlet} output belongs to ${cloudField ? 'Exchange Online' : 'Exchange Server'}, but the file was taken as ${o.side}`);
      continue;
    }
    const node = raw.nodes[nodeName]!;
    const properties = canonicalNames(o.properties, TOPOLOGY_OBJECT_PROPERTIES[field]);
    for (const [key, value] of Object.entries(properties)) {
      const kind = TOPOLOGY_OBJECT_PROPERTIES[field].modelled[key];
      // A flags enum (PermissionGroups, AuthMechanism) is a list in the lab, a number in such an export.
      if ((kind === 'enum' || kind === 'stringList') && typeof value === 'number') {
        delete properties[key];
        refuse(
          o,
          `${key} is the number ${value} (Windows PowerShell 5.1 writes some enums so), whose name is not documented: left at its default; re-export with PowerShell 7 or Select-Object @{n='${key}';e={$_.${key}.ToString()}}`,
        );
      }
    }
    if (field === 'hostedConnectionFilterPolicy' || field === 'hostedContentFilterPolicy' || field === 'transportConfig') {
      if (node[field] !== undefined) {
        refuse(o, `a second ${o.cmdlet} policy: the lab models one per tenant (the default); only the first is used`);
        continue;
      }
      node[field] = properties;
      origin.set(`${nodeName}.${field}`, o);
    } else {
      const items = (node[field] ??= []) as Mutable[];
      const twin = items.findIndex((item) => typeof item.Name === 'string' && item.Name === properties.Name);
      if (twin >= 0) {
        const first = origin.get(`${nodeName}.${field}.${twin}`);
        refuse(
          o,
          `another ${o.cmdlet} object is named ${JSON.stringify(properties.Name)} (from ${first ? source(first) : 'an earlier file'}): the lab has one node per side and names must be unique there; only the first is imported`,
        );
        continue;
      }
      origin.set(`${nodeName}.${field}.${items.length}`, o);
      items.push(properties);
    }
  }
  const normalized = normalizeTopologyValues(raw);
  const notSimulated = normalized.notSimulated;
  for (const problem of normalized.problems) {
    const [, nodeName, field, index] = problem.path;
    const o = origin.get([nodeName, field, ...(typeof index === 'number' ? [index] : [])].join('.'));
    unmapped.push({ file: o?.file ?? '(import)', identity: o?.identity, reason: `${String(problem.path.at(-1))}: ${problem.message}; left out` });
  }
  const read = (normalized.value as typeof raw).nodes;
  for (const [nodeName, node] of Object.entries(read)) {
    const target = nodeName === 'eop' ? eop : onprem;
    for (const [field, held] of Object.entries(node)) {
      const properties = TOPOLOGY_OBJECT_PROPERTIES[field as TopologyObjectField];
      const tidy = (o: Mutable, key: string) => {
        const unknown = Object.keys(o).filter((k) => !(k in properties.modelled));
        for (const k of unknown) {
          const from = origin.get(key);
          unmapped.push({
            file: from?.file ?? '(import)',
            identity: from?.identity,
            reason: `${k} is not a documented property of ${properties.cmdlet}: left out`,
          });
        }
        // Name first, then the cmdlet's properties in the order its documentation lists them.
        return Object.fromEntries(
          Object.keys(properties.modelled)
            .filter((k) => k in o)
            .map((k) => [k, o[k]]),
        );
      };
      const value = Array.isArray(held) ? held.map((o: Mutable, i) => tidy(o, `${nodeName}.${field}.${i}`)) : tidy(held as Mutable, `${nodeName}.${field}`);
      target[field] = value;
      if (Array.isArray(value)) {
        value.forEach((_, i) => {
          const o = origin.get(`${nodeName}.${field}.${i}`);
          if (o) note(['nodes', nodeName, field, i], `from ${source(o)} (${o.format})`);
        });
      } else {
        const o = origin.get(`${nodeName}.${field}`);
        if (o) note(['nodes', nodeName, field], `from ${source(o)} (${o.format})`);
      }
    }
  }

  disableRulesWithUnmodelledParts(objects, [onprem, eop], refuse, note);
  grantRelayRights(of('Get-ADPermission'), onprem, refuse, note);
  placeMailboxes({ onprem, eop, coexistence, initial, defaultDomain, objects, note, unmapped });

  // The on-premises certificate: the one the hybrid connectors name.
  const onpremCertName = [
    text(hybrid?.properties.TlsCertificateName),
    ...(onprem.sendConnectors ?? []).map((c) => c.TlsCertificateName),
    ...(onprem.receiveConnectors ?? []).map((c) => c.TlsCertificateName),
  ].find((n): n is string => !!n);
  const exported = of('Get-ExchangeCertificate');
  const wanted = onpremCertName ? parseCertificateName(onpremCertName) : undefined;
  const match = exported.find((c) => {
    const subject = text(c.properties.Subject);
    if (!subject || !wanted) return false;
    const sameSubject = commonName(subject)?.toLowerCase() === wanted.hostName.toLowerCase();
    const issuer = text(c.properties.Issuer);
    return sameSubject && (!wanted.issuer || !issuer || commonName(issuer) === commonName(wanted.issuer));
  });
  if (match) {
    const spec = certificateFrom(match, now);
    if (spec.issuer !== 'self') {
      const issuerName = commonName(text(match.properties.Issuer) ?? '') ?? 'Public CA';
      topology.authorities[spec.issuer] = { commonName: issuerName };
      note(['authorities', spec.issuer], `the issuer of ${match.identity}, from ${match.file}; trusted as a public CA`);
    }
    topology.certificates.onprem = spec;
    onprem.certificate = 'onprem';
    note(['certificates', 'onprem'], `from ${source(match)}; NotAfter ${text(match.properties.NotAfter) ?? 'not exported'}`);
    certificates.push({
      name: 'onprem',
      subject: spec.subject,
      sans: spec.sans ?? [],
      ...(text(match.properties.NotAfter) && { notAfter: text(match.properties.NotAfter) }),
      from: source(match),
    });
  } else {
    topology.certificates.onprem = { subject: wanted?.hostName ?? onpremHost, sans: [wanted?.hostName ?? onpremHost], issuer: 'lab-public' };
    onprem.certificate = 'onprem';
    note(['certificates', 'onprem'], 'made by relaylab import: no Get-ExchangeCertificate export matched the name the connectors use');
    unmapped.push({
      file: '(none)',
      reason: `no exported certificate matches ${onpremCertName ?? 'any connector'}: the on-premises certificate is made for ${wanted?.hostName ?? onpremHost}`,
    });
  }
  for (const c of exported.filter((c) => c !== match)) refuse(c, 'certificate not named by any connector or the hybrid configuration: not generated');
  certificates.push({
    name: 'eop',
    subject: 'mail.protection.outlook.com',
    sans: topology.certificates.eop!.sans ?? [],
    from: 'relaylab import (Exchange Online)',
  });

  const hosts = new HostsAround(topology, notes, certificates);
  hosts.partners(eop, publicDomains);
  const filter = hosts.filter(eop, publicDomains, eopHost, orgName);
  hosts.devices(onprem, onpremHost, defaultDomain);
  hosts.internet();
  hosts.rewriteAddresses(onprem, eop);

  // MX: not exported; where hybrid organizations point it.
  const mx = topology.dns!.mx!;
  for (const d of domains) {
    mx[d] = [d.endsWith('.onmicrosoft.com') || !filter ? eopHost : filter];
    note(
      ['dns', 'mx', d],
      d.endsWith('.onmicrosoft.com')
        ? "Exchange Online's own domain"
        : filter
          ? 'not exported: taken to point at the filtering service, which an inbound connector with enhanced filtering implies'
          : 'not exported: taken to point at Exchange Online',
    );
  }
  Object.assign(mx, hosts.mx);
  for (const o of of('Get-RemoteDomain')) refuse(o, 'remote domains (message format, OOF, NDR settings) are not simulated');
  for (const o of of('Get-HybridConfiguration').slice(1)) refuse(o, 'a second hybrid configuration: only the first is read');
  if (!hybrid) unmapped.push({ file: '(none)', reason: `no Get-HybridConfiguration export: the on-premises host name is taken as ${onpremHost}` });
  return { topology, notes, unmapped, notSimulated, certificates };
}

/** PowerShell's property names are case-insensitive (SenderIpRanges is SenderIPRanges): the documented spelling. */
function canonicalNames(properties: Mutable, cmdlet: CmdletProperties): Mutable {
  const known = new Map([...Object.keys(cmdlet.modelled), ...cmdlet.notSimulated, ...READ_ONLY_PROPERTIES].map((k) => [k.toLowerCase(), k]));
  return Object.fromEntries(Object.entries(properties).map(([k, v]) => [known.get(k.toLowerCase()) ?? k, v]));
}

function certificateFrom(o: ExportedObject, now: Date): CertificateSpec {
  const p = o.properties;
  const subject = commonName(text(p.Subject) ?? '') ?? text(p.Subject) ?? o.identity;
  const sans = list(p.CertificateDomains);
  const selfSigned = parsePowerShellBoolean(p.IsSelfSigned) === true;
  const issuer = selfSigned ? 'self' : slug(commonName(text(p.Issuer) ?? '') ?? 'public-ca');
  const notAfter = text(p.NotAfter) ? Date.parse(text(p.NotAfter)!) : NaN;
  const notBefore = text(p.NotBefore) ? Date.parse(text(p.NotBefore)!) : NaN;
  const validity = notAfter < now.getTime() ? 'expired' : notBefore > now.getTime() ? 'not-yet-valid' : undefined;
  return { subject, ...(sans.length > 0 && { sans }), issuer, ...(validity && { validity }) };
}

/**
 * A rule whose conditions or actions include ones the lab does not evaluate would match or act
 * otherwise than in Exchange: it is imported disabled, and said so. Audit mode does not act either.
 */
function disableRulesWithUnmodelledParts(
  objects: ExportedObject[],
  nodes: NodeSpec[],
  refuse: (o: ExportedObject, reason: string) => void,
  note: (p: ValuePath, c: string) => void,
): void {
  const rules = objects.filter((o) => o.cmdlet === 'Get-TransportRule');
  for (const [nodeIndex, node] of nodes.entries()) {
    const side: Side = nodeIndex === 1 ? 'exchange-online' : 'on-premises';
    const mine = rules.filter((o) => o.side === side);
    node.transportRules?.forEach((rule, i) => {
      const o = mine[i];
      if (!o) return;
      const unmodelled = Object.entries(o.properties)
        .filter(
          ([k]) =>
            TOPOLOGY_OBJECT_PROPERTIES.transportRules.notSimulated.includes(k) && !TRANSPORT_RULE_BOOKKEEPING.includes(k) && !READ_ONLY_PROPERTIES.includes(k),
        )
        .filter(([, v]) => v !== null && v !== '' && v !== false && !(Array.isArray(v) && v.length === 0))
        .map(([k]) => k);
      const mode = text(o.properties.Mode);
      const reasons = [
        ...(unmodelled.length > 0 ? [`uses ${unmodelled.join(', ')}, which the lab does not evaluate`] : []),
        ...(mode && mode !== 'Enforce' ? [`is in ${mode} mode, which does not act`] : []),
      ];
      if (reasons.length === 0 || rule.State === 'Disabled') return;
      rule.State = 'Disabled';
      const at = ['nodes', nodeIndex === 1 ? 'eop' : 'onprem', 'transportRules', i, 'State'];
      note(at, `imported disabled: the rule ${reasons.join(' and ')}`);
      refuse(o, `the rule ${reasons.join(' and ')}: imported with State Disabled`);
    });
  }
}

/** Get-ADPermission rows for ANONYMOUS LOGON on a receive connector: its ExtendedRights. */
function grantRelayRights(
  rows: ExportedObject[],
  onprem: NodeSpec,
  refuse: (o: ExportedObject, reason: string) => void,
  note: (p: ValuePath, c: string) => void,
): void {
  const noted = new Set<number>();
  for (const row of rows) {
    const user = text(row.properties.User) ?? '';
    const identity = text(row.properties.Identity) ?? '';
    const connectorName = identity.includes('\\') ? identity.slice(identity.lastIndexOf('\\') + 1) : identity;
    const index = (onprem.receiveConnectors ?? []).findIndex((c) => c.Name === connectorName);
    const rights = list(row.properties.ExtendedRights);
    if (parsePowerShellBoolean(row.properties.Deny) === true) {
      refuse(row, 'a Deny permission: not simulated');
      continue;
    }
    if (!/anonymous logon/i.test(user)) {
      refuse(row, `a permission for ${user || 'an unnamed user'}: the lab models only those of NT AUTHORITY\\ANONYMOUS LOGON`);
      continue;
    }
    const connector = onprem.receiveConnectors?.[index];
    if (!connector) {
      refuse(row, `no exported receive connector is named ${JSON.stringify(connectorName)}`);
      continue;
    }
    for (const right of rights) {
      if (!MODELLED_RIGHTS.includes(right)) {
        refuse(row, `${right}: not simulated`);
        continue;
      }
      const granted = (connector.ExtendedRights ??= []);
      if (!granted.includes(right as never)) granted.push(right as never);
    }
    if (connector.ExtendedRights?.length && !noted.has(index)) {
      noted.add(index);
      note(['nodes', 'onprem', 'receiveConnectors', index, 'ExtendedRights'], `from ${row.file} (Get-ADPermission, ANONYMOUS LOGON)`);
    }
  }
}

function placeMailboxes(context: {
  onprem: NodeSpec;
  eop: NodeSpec;
  coexistence: string | undefined;
  initial: string | undefined;
  defaultDomain: string;
  objects: ExportedObject[];
  note: (p: ValuePath, c: string) => void;
  unmapped: UnreadExport[];
}): void {
  const { onprem, eop, objects, note, unmapped, defaultDomain } = context;
  const coexistence = context.coexistence ?? `${defaultDomain.split('.')[0]}.mail.onmicrosoft.com`;
  const mailboxes = objects.filter((o) => o.cmdlet === 'Get-Mailbox');
  const remote = objects.filter((o) => o.cmdlet === 'Get-RemoteMailbox');
  const address = (o: ExportedObject) => text(o.properties.PrimarySmtpAddress)?.toLowerCase();
  onprem.mailboxes = mailboxes.map(address).filter((a): a is string => !!a);
  if (onprem.mailboxes.length > 0) note(['nodes', 'onprem', 'mailboxes'], `from ${[...new Set(mailboxes.map((o) => o.file))].join(', ')}`);
  else {
    onprem.mailboxes = [`onprem.test@${defaultDomain}`];
    note(['nodes', 'onprem', 'mailboxes'], 'made by relaylab import: no Get-Mailbox export');
    unmapped.push({ file: '(none)', reason: `no Get-Mailbox export: added the test mailbox onprem.test@${defaultDomain}` });
  }
  const moved: Array<[string, string]> = remote
    .map((o): [string | undefined, string | undefined] => [
      address(o),
      text(o.properties.RemoteRoutingAddress)
        ?.replace(/^smtp:/i, '')
        .toLowerCase(),
    ])
    .filter((pair): pair is [string, string] => !!pair[0] && !!pair[1]);
  if (moved.length === 0) {
    moved.push([`cloud.test@${defaultDomain}`, `cloud.test@${coexistence}`]);
    unmapped.push({ file: '(none)', reason: `no Get-RemoteMailbox export: added the test cloud mailbox cloud.test@${defaultDomain}` });
  }
  const from = remote.length > 0 ? `from ${[...new Set(remote.map((o) => o.file))].join(', ')}` : 'made by relaylab import: no Get-RemoteMailbox export';
  onprem.remoteMailboxes = Object.fromEntries(moved);
  eop.mailboxes = moved.map(([primary]) => primary);
  // Exchange Online gives every mailbox an address in the tenant's initial domain too.
  const initial = context.initial;
  const inInitial = initial ? moved.map(([primary]): [string, string] => [`${primary.slice(0, primary.lastIndexOf('@'))}@${initial}`, primary]) : [];
  eop.proxyAddresses = Object.fromEntries([...moved.map(([primary, routing]): [string, string] => [routing, primary]), ...inInitial]);
  note(['nodes', 'onprem', 'remoteMailboxes'], `RemoteRoutingAddress, ${from}`);
  note(['nodes', 'eop', 'mailboxes'], `the remote mailboxes' primary addresses, ${from}`);
  note(
    ['nodes', 'eop', 'proxyAddresses'],
    `RemoteRoutingAddress${initial ? ` and the address Exchange Online gives each mailbox in ${initial}` : ''}, ${from}`,
  );
}

/** The hosts the exports only imply, each on a loopback address and with a certificate of its own. */
class HostsAround {
  /** Real address (as exported) → the lab node's loopback address. */
  readonly addresses = new Map<string, { address: string; node: string }>();
  readonly mx: Record<string, string[]> = {};
  private partnerCount = 0;
  private deviceCount = 0;

  constructor(
    private readonly topology: Topology & { certificates: NonNullable<Topology['certificates']> },
    private readonly notes: ImportNote[],
    private readonly certificates: CertificateToMake[],
  ) {}

  private add(name: string, node: NodeSpec, why: string): void {
    this.topology.nodes[name] = node;
    this.notes.push({ path: ['nodes', name], comment: why });
    if (node.certificate) {
      this.topology.certificates[node.certificate] = { subject: node.hostname, issuer: 'lab-public' };
      this.certificates.push({ name: node.certificate, subject: node.hostname, sans: [], from: `relaylab import (${name})` });
    }
  }

  /** A partner per Partner connector that names sender or recipient domains. */
  partners(eop: NodeSpec, own: string[]): void {
    const connectors = [
      ...(eop.inboundConnectors ?? [])
        .filter((c) => c.ConnectorType === 'Partner')
        .map((c) => ({ domains: c.SenderDomains ?? [], host: c.TlsSenderCertificateName, ips: c.SenderIPAddresses ?? [], name: c.Name })),
      ...(eop.outboundConnectors ?? [])
        .filter((c) => c.ConnectorType !== 'OnPremises')
        .map((c) => ({ domains: c.RecipientDomains ?? [], host: c.TlsDomain, ips: [] as string[], name: c.Name })),
    ];
    const made = new Map<string, string>();
    for (const c of connectors) {
      const domains = c.domains.filter((d) => d !== '*' && !d.startsWith('*') && !own.includes(d));
      const first = domains[0];
      if (!first) continue;
      let name = made.get(first);
      if (!name) {
        name = slug(first.split('.')[0] ?? first);
        if (this.topology.nodes[name]) name = `${name}-partner`;
        made.set(first, name);
        const named = c.host ? parseCertificateName(c.host)?.hostName : undefined;
        const hostname = named && !named.startsWith('*') ? named.toLowerCase() : `mail.${first}`;
        this.add(
          name,
          {
            role: 'partner',
            hostname,
            address: `127.0.0.${30 + this.partnerCount++}`,
            organization: name,
            certificate: name,
            mailboxes: [`postmaster@${first}`],
          },
          `a partner, implied by connector ${JSON.stringify(c.name)}: its host name is the certificate name the connector expects`,
        );
        this.topology.organizations![name] = { domains };
      }
      for (const d of domains) this.mx[d] = [this.topology.nodes[name]!.hostname];
      for (const ip of c.ips) this.addresses.set(ip, { address: this.topology.nodes[name]!.address, node: name });
    }
  }

  /** A filtering service in front of Exchange Online: an inbound connector that skips its hop (enhanced filtering). */
  filter(eop: NodeSpec, own: string[], eopHost: string, orgName: string): string | undefined {
    const c = (eop.inboundConnectors ?? []).find((x) => x.EFSkipLastIP || x.EFSkipIPs?.length);
    if (!c) return undefined;
    const label = slug(c.Name.replace(/^(inbound )?from /i, '')) || 'filter';
    const hostname = `mx.${label}.example`;
    this.add(
      'filter',
      {
        role: 'appliance',
        hostname,
        address: '127.0.0.45',
        // Its organization's domains are the ones it accepts mail for, and relays to Exchange Online.
        organization: orgName,
        certificate: 'filter',
        sendConnectors: [{ Name: 'To Exchange Online', AddressSpaces: own, DNSRoutingEnabled: false, SmartHosts: [eopHost] }],
      },
      `a filtering service, implied by connector ${JSON.stringify(c.Name)} (enhanced filtering); its host name is not in any export, so relaylab names it`,
    );
    for (const ip of [...(c.SenderIPAddresses ?? []), ...(c.EFSkipIPs ?? [])]) this.addresses.set(ip, { address: '127.0.0.45', node: 'filter' });
    return hostname;
  }

  /** A device per receive connector that relays for a few addresses anonymously (an MFD, an application). */
  devices(onprem: NodeSpec, onpremHost: string, defaultDomain: string): void {
    for (const c of onprem.receiveConnectors ?? []) {
      const ranges = c.RemoteIPRanges ?? [];
      const single = ranges.length > 0 && ranges.every((r) => /^[\d.]+$|^[\da-f:]+$/i.test(r) && !isAllAddresses(r));
      if (!single || !c.PermissionGroups?.includes('AnonymousUsers')) continue;
      const name = slug(c.Name.replace(/^relay( for)? /i, '')) || `device-${this.deviceCount + 1}`;
      const hostname = `${name}.${defaultDomain}`;
      const address = `127.0.0.${60 + this.deviceCount++}`;
      this.add(
        name,
        {
          role: 'device',
          hostname,
          address,
          mailboxes: [`scanner@${hostname}`],
          sendConnectors: [{ Name: 'To Exchange', AddressSpaces: ['*'], DNSRoutingEnabled: false, SmartHosts: [onpremHost] }],
        },
        `a device relaying through receive connector ${JSON.stringify(c.Name)}, from its RemoteIPRanges ${ranges.join(', ')}`,
      );
      for (const ip of ranges) this.addresses.set(ip, { address, node: name });
    }
  }

  internet(): void {
    this.add(
      'internet',
      {
        role: 'internet',
        hostname: 'mx.tailspin.example',
        address: '127.0.0.50',
        organization: 'tailspin',
        certificate: 'internet',
        mailboxes: ['tom@tailspin.example'],
      },
      'made by relaylab import: a server on the Internet to send and receive with',
    );
    this.topology.organizations!.tailspin = { domains: ['tailspin.example'] };
    this.mx['tailspin.example'] = ['mx.tailspin.example'];
  }

  /** Exported addresses of hosts that are now lab nodes → the nodes' loopback addresses. */
  rewriteAddresses(onprem: NodeSpec & Mutable, eop: NodeSpec & Mutable): void {
    const eopAddress = { address: eop.address, node: 'eop' };
    for (const [nodeName, node] of [
      ['onprem', onprem],
      ['eop', eop],
    ] as const) {
      for (const [field, keys] of Object.entries(IP_FIELDS)) {
        const held = node[field];
        const objects = (Array.isArray(held) ? held : held ? [held] : []) as Mutable[];
        objects.forEach((o, i) => {
          for (const key of keys) {
            const values = o[key];
            if (!Array.isArray(values)) continue;
            const rewritten: string[] = [];
            const moved = values.map((v: unknown) => {
              const mapped = typeof v === 'string' ? (this.addresses.get(v) ?? (EXCHANGE_ONLINE_RANGES.includes(v) ? eopAddress : undefined)) : undefined;
              if (!mapped) return v;
              rewritten.push(`${String(v)} → ${mapped.address} (${mapped.node})`);
              return mapped.address;
            });
            o[key] = [...new Set(moved)];
            if (rewritten.length > 0) {
              const at = Array.isArray(held) ? ['nodes', nodeName, field, i, key] : ['nodes', nodeName, field, key];
              this.notes.push({ path: at, comment: `exported addresses moved to the lab's: ${rewritten.join(', ')}` });
            }
          }
        });
      }
    }
  }
}
