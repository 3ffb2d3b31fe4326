import { parseByteSize, parseIpRange, ROLE_PRESETS, type NodeSpec, type ReceiveConnector, type TlsRequirement } from '@relaylab/core';

/** Where one Postfix instance keeps everything; all under the node's folder in the lab's working folder. */
export interface PostfixPaths {
  root: string;
  config: string;
  queue: string;
  data: string;
  /** virtual_mailbox_base: one Maildir per mailbox, `<address>/`. */
  mail: string;
  log: string;
  certFile: string;
  keyFile: string;
  caFile: string;
}

/** Postfix's smtp_tls_security_level values that relaylab's connector settings map to. */
export type PostfixTlsLevel = 'none' | 'may' | 'encrypt' | 'verify' | 'secure';

/** One recipient domain and where the node's connectors (or the lab's DNS) send it. */
export interface PostfixRoute {
  domain: string;
  connector: string;
  host: string;
  ip: string;
  port: number;
  requirement: TlsRequirement;
  ignoreStartTls: boolean;
  /** The certificate name the connector asks for (TlsDomain), when it checks names. */
  tlsDomain?: string;
}

export interface PostfixTlsPolicy {
  level: PostfixTlsLevel;
  /** smtp_tls_secure_cert_match for this destination: the names a certificate must carry. */
  match?: string;
}

export interface PostfixInstance {
  name: string;
  spec: NodeSpec;
  paths: PostfixPaths;
  /** The TCP port its smtpd listens on, at the node's own address. */
  port: number;
  routes: PostfixRoute[];
  hasCertificate: boolean;
  /** uid and gid the virtual delivery agent writes mailboxes as (the postfix user). */
  mailOwner: { uid: number; gid: number };
}

export interface PostfixFiles {
  'main.cf': string;
  'master.cf': string;
  transport: string;
  tls_policy: string;
  vmailbox: string;
  header_checks: string;
}

/**
 * A connector's TLS settings as Postfix's per-destination policy. Postfix cannot check a chain
 * without checking a name, so CertificateValidation becomes `verify` with the next hop's host
 * name to match: stricter than Exchange, which checks no name at that level.
 */
export function tlsPolicyOf(route: Pick<PostfixRoute, 'requirement' | 'ignoreStartTls' | 'host' | 'tlsDomain'>): PostfixTlsPolicy {
  if (route.ignoreStartTls) return { level: 'none' };
  switch (route.requirement) {
    case 'Opportunistic':
      return { level: 'may' };
    case 'EncryptionOnly':
      return { level: 'encrypt' };
    case 'CertificateValidation':
      return { level: 'verify', match: route.host };
    case 'DomainValidation':
      return { level: 'secure', match: route.tlsDomain ?? route.host };
  }
}

/** The node's `tls` versions and cipher list, both directions, mandatory TLS included. */
function tlsVersionsAndCiphers(spec: NodeSpec): string[] {
  const tls = spec.tls ?? {};
  const versions = [tls.minVersion && `>=${tls.minVersion}`, tls.maxVersion && `<=${tls.maxVersion}`].filter(Boolean).join(', ');
  const lines: string[] = [];
  if (versions)
    for (const p of ['smtpd_tls_protocols', 'smtpd_tls_mandatory_protocols', 'smtp_tls_protocols', 'smtp_tls_mandatory_protocols'])
      lines.push(`${p} = ${versions}`);
  if (tls.ciphers) {
    lines.push(`tls_high_cipherlist = ${tls.ciphers}`);
    for (const p of ['smtpd_tls_ciphers', 'smtpd_tls_mandatory_ciphers', 'smtp_tls_ciphers', 'smtp_tls_mandatory_ciphers']) lines.push(`${p} = high`);
  }
  return lines;
}

const nexthop = (r: Pick<PostfixRoute, 'ip' | 'port'>) => `[${r.ip}]:${r.port}`;

/** An IPv4 range `a-b` as the CIDR blocks Postfix's mynetworks takes. */
export function rangeToCidrs(text: string): string[] {
  const range = parseIpRange(text);
  if (!range) throw new Error(`"${text}" is not an IPv4 address, CIDR block or range`);
  const out: string[] = [];
  let first = range.first;
  while (first <= range.last) {
    let bits = 32;
    while (bits > 0) {
      const size = 2 ** (33 - bits);
      if (first % size !== 0 || first + size - 1 > range.last) break;
      bits--;
    }
    const ip = [24, 16, 8, 0].map((s) => Math.floor(first / 2 ** s) % 256).join('.');
    out.push(`${ip}/${bits}`);
    first += 2 ** (32 - bits);
  }
  return out;
}

/** Receive connectors whose clients may relay anywhere, as relaylab's own nodes judge it (core's relayRights). */
const grantsRelay = (c: ReceiveConnector) =>
  c.Enabled !== false &&
  (!!c.AuthMechanism?.includes('ExternalAuthoritative') || !!c.ExtendedRights?.some((r) => r.toLowerCase() === 'ms-exch-smtp-accept-any-recipient'));

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

/** Header glob patterns (`X-MS-Exchange-*`) as a regexp: table that removes those fields. */
function headerChecks(patterns: string[]): string {
  return patterns.map((p) => `/^${p.replace(/[.+?^${}()|[\]\\/]/g, '\\$&').replace(/\*/g, '.*')}:/ IGNORE\n`).join('');
}

/**
 * main.cf, master.cf and the lookup tables of a Postfix instance that plays one node. Pure: the
 * caller computed the routes (from the node's connectors and the lab's DNS, with the lab's ports)
 * and writes the files. Every destination is `[ip]:port` in transport_maps: the lab's DNS is not
 * one Postfix can query, and its nodes listen on ports other than 25.
 */
export function postfixConfig(instance: PostfixInstance): PostfixFiles {
  const { spec, paths, routes } = instance;
  const preset = ROLE_PRESETS[spec.role];
  const connectors = spec.receiveConnectors ?? [];
  const relayFrom = [`${spec.address}/32`, ...connectors.filter(grantsRelay).flatMap((c) => (c.RemoteIPRanges ?? []).flatMap(rangeToCidrs))];
  const mailboxDomains = [...new Set((spec.mailboxes ?? []).map(domainOf))];
  const sizeLimit = connectors.map((c) => (c.MaxMessageSize === undefined ? undefined : parseByteSize(c.MaxMessageSize))).find((n) => n !== undefined);
  const requireTls = connectors.some((c) => c.RequireTLS);
  const starttls = instance.hasCertificate && spec.starttls !== false;

  const policies = new Map<string, PostfixTlsPolicy>();
  for (const r of routes) if (!policies.has(nexthop(r))) policies.set(nexthop(r), tlsPolicyOf(r));
  const policyLine = ([hop, p]: [string, PostfixTlsPolicy]) => `${hop} ${p.level}${p.match ? ` match=${p.match}` : ''}\n`;

  const main = [
    '# Written by relaylab for one node of a lab; rewritten at every start.',
    'compatibility_level = 3.6',
    `queue_directory = ${paths.queue}`,
    `data_directory = ${paths.data}`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    `maillog_file = ${paths.log}`,
    `maillog_file_prefixes = ${paths.root}`,
    `myhostname = ${spec.hostname}`,
    `mydomain = ${spec.hostname.split('.').slice(1).join('.') || spec.hostname}`,
    'myorigin = $myhostname',
    'mydestination =',
    // The node's 127.x address is not an interface address, so Postfix would refuse it here;
    // master.cf binds the listener to it instead.
    'inet_interfaces = all',
    'inet_protocols = ipv4',
    `smtp_bind_address = ${spec.address}`,
    `mynetworks = ${relayFrom.join(' ')}`,
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    // INFO logs every accepted recipient with the session's client, which the trace needs.
    'smtpd_recipient_restrictions = check_recipient_access static:INFO',
    'smtpd_delay_open_until_valid_rcpt = no',
    'smtpd_client_port_logging = yes',
    `smtpd_banner = $myhostname ESMTP Postfix`,
    `smtp_helo_name = ${spec.hostname}`,
    `message_size_limit = ${sizeLimit ?? preset.receiveLimits.maxMessageBytes}`,
    `smtpd_recipient_limit = ${connectors.find((c) => c.MaxRecipientsPerMessage)?.MaxRecipientsPerMessage ?? preset.receiveLimits.maxRecipientsPerMessage}`,
    'alias_maps =',
    'alias_database =',
    'local_recipient_maps =',
    'biff = no',
    'smtputf8_enable = no',
    // No DNS: every destination is an [ip]:port from transport_maps; anything else is not in the lab.
    'smtp_dns_support_level = disabled',
    'smtp_host_lookup = native',
    `transport_maps = texthash:${paths.config}/transport`,
    'default_transport = error:5.1.2 no route to this domain in the lab',
    `virtual_mailbox_domains = ${mailboxDomains.join(' ')}`,
    `virtual_mailbox_maps = texthash:${paths.config}/vmailbox`,
    `virtual_mailbox_base = ${paths.mail}`,
    `virtual_uid_maps = static:${instance.mailOwner.uid}`,
    `virtual_gid_maps = static:${instance.mailOwner.gid}`,
    `header_checks = regexp:${paths.config}/header_checks`,
    // Retries are driven by the lab (postqueue -f when the lab clock says one is due), not by real time.
    'minimal_backoff_time = 300s',
    'maximal_backoff_time = 4000s',
    'queue_run_delay = 300s',
    // Outbound TLS: per destination from the connectors; the lab's authorities as trust anchors.
    'smtp_tls_security_level = may',
    `smtp_tls_policy_maps = texthash:${paths.config}/tls_policy`,
    `smtp_tls_CAfile = ${paths.caFile}`,
    'smtp_tls_loglevel = 1',
    'smtp_tls_session_cache_database =',
    ...(instance.hasCertificate ? [`smtp_tls_cert_file = ${paths.certFile}`, `smtp_tls_key_file = ${paths.keyFile}`] : []),
    // Inbound TLS: STARTTLS with the node's certificate; client certificates asked for, not required.
    `smtpd_tls_security_level = ${starttls ? (requireTls ? 'encrypt' : 'may') : 'none'}`,
    ...(starttls ? [`smtpd_tls_cert_file = ${paths.certFile}`, `smtpd_tls_key_file = ${paths.keyFile}`] : []),
    `smtpd_tls_CAfile = ${paths.caFile}`,
    'smtpd_tls_ask_ccert = yes',
    'smtpd_tls_loglevel = 1',
    'smtpd_tls_session_cache_database =',
    ...tlsVersionsAndCiphers(spec),
  ];

  const service = (name: string, type: string, priv: string, unpriv: string, wakeup: string, limit: string, command: string) =>
    `${name.padEnd(24)} ${type.padEnd(10)} ${priv} ${unpriv} n ${wakeup.padEnd(5)} ${limit.padEnd(3)} ${command}`;
  const master = [
    '# service type private unpriv chroot wakeup maxproc command',
    service(`${spec.address}:${instance.port}`, 'inet', 'n', '-', '-', '-', 'smtpd'),
    service('pickup', 'unix', 'n', '-', '60', '1', 'pickup'),
    service('cleanup', 'unix', 'n', '-', '-', '0', 'cleanup'),
    service('qmgr', 'unix', 'n', '-', '300', '1', 'qmgr'),
    service('tlsmgr', 'unix', '-', '-', '1000?', '1', 'tlsmgr'),
    service('rewrite', 'unix', '-', '-', '-', '-', 'trivial-rewrite'),
    service('bounce', 'unix', '-', '-', '-', '0', 'bounce'),
    service('defer', 'unix', '-', '-', '-', '0', 'bounce'),
    service('trace', 'unix', '-', '-', '-', '0', 'bounce'),
    service('verify', 'unix', '-', '-', '-', '1', 'verify'),
    service('flush', 'unix', 'n', '-', '1000?', '0', 'flush'),
    service('proxymap', 'unix', '-', '-', '-', '-', 'proxymap'),
    service('smtp', 'unix', '-', '-', '-', '-', 'smtp'),
    service('showq', 'unix', 'n', '-', '-', '-', 'showq'),
    service('error', 'unix', '-', '-', '-', '-', 'error'),
    service('retry', 'unix', '-', '-', '-', '-', 'error'),
    service('discard', 'unix', '-', '-', '-', '-', 'discard'),
    service('virtual', 'unix', '-', 'n', '-', '-', 'virtual'),
    service('anvil', 'unix', '-', '-', '-', '1', 'anvil'),
    service('scache', 'unix', '-', '-', '-', '1', 'scache'),
    service('postlog', 'unix-dgram', 'n', '-', '-', '1', 'postlogd'),
  ];

  return {
    'main.cf': main.join('\n') + '\n',
    'master.cf': master.join('\n') + '\n',
    transport: routes
      .filter((r) => !mailboxDomains.includes(r.domain.toLowerCase()))
      .map((r) => `${r.domain} smtp:${nexthop(r)}\n`)
      .join(''),
    tls_policy: [...policies].map(policyLine).join(''),
    vmailbox: (spec.mailboxes ?? []).map((m) => `${m} ${m.toLowerCase()}/\n`).join(''),
    header_checks: headerChecks(spec.stripHeaders ?? []),
  };
}
