import { StaticResolver, type NodeSpec, type Topology } from '@relaylab/core';
import { postfixConfig, rangeToCidrs, tlsPolicyOf, type PostfixInstance, type PostfixRoute } from '../src/postfix/config';
import { postfixRoutes } from '../src/postfix/routes';
import { validateTopology } from '../src/validate';

const paths = {
  root: '/lab/fabrikam',
  config: '/lab/fabrikam/conf',
  queue: '/lab/fabrikam/queue',
  data: '/lab/fabrikam/data',
  mail: '/lab/fabrikam/mail',
  log: '/lab/fabrikam/maillog',
  certFile: '/lab/fabrikam/conf/cert.pem',
  keyFile: '/lab/fabrikam/conf/key.pem',
  caFile: '/lab/fabrikam/conf/ca.pem',
};

const partner: NodeSpec = {
  role: 'partner',
  implementation: 'postfix',
  hostname: 'mail.fabrikam.example',
  address: '127.0.0.30',
  certificate: 'fabrikam',
  mailboxes: ['Ann@fabrikam.example'],
  sendConnectors: [
    {
      Name: 'To Contoso',
      AddressSpaces: ['contoso.example'],
      RequireTLS: true,
      TlsAuthLevel: 'DomainValidation',
      TlsDomain: 'mail.protection.outlook.example',
    },
  ],
};

const topology: Topology = {
  organizations: { fabrikam: { domains: ['fabrikam.example'] }, contoso: { domains: ['contoso.example'] } },
  nodes: {
    fabrikam: partner,
    eop: { role: 'exchange-online', hostname: 'contoso-example.mail.protection.outlook.example', address: '127.0.0.20', mailboxes: ['bob@contoso.example'] },
    tailspin: { role: 'internet', hostname: 'mx.tailspin.example', address: '127.0.0.50', mailboxes: ['tom@tailspin.example'] },
  },
  dns: { mx: { 'contoso.example': ['contoso-example.mail.protection.outlook.example'], 'tailspin.example': ['mx.tailspin.example'] } },
};

const ports: Record<string, number> = { '127.0.0.20': 2520, '127.0.0.50': 2550 };
const routesOf = (t: Topology) => postfixRoutes(t, 'fabrikam', new StaticResolver(t.dns, t.nodes), (ip) => ports[ip] ?? 25);

const instance = (routes: PostfixRoute[], spec: NodeSpec = partner): PostfixInstance => ({
  name: 'fabrikam',
  spec,
  paths,
  port: 2530,
  routes,
  hasCertificate: true,
  mailOwner: { uid: 102, gid: 105 },
});

/** main.cf as parameter → value, the way postconf reads it. */
const mainCf = (text: string) =>
  new Map(
    text
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf(' =')), l.slice(l.indexOf(' =') + 2).trim()] as const),
  );

describe('the Postfix instance relaylab writes for a node', () => {
  it('routes each lab domain to [ip]:port by connector or MX, with the connector TLS as a per-destination policy', async () => {
    const routes = await routesOf(topology);
    expect(routes.map((r) => [r.domain, r.connector, r.ip, r.port, r.requirement])).toEqual([
      ['contoso.example', 'To Contoso', '127.0.0.20', 2520, 'DomainValidation'],
      ['tailspin.example', 'Default (MX, opportunistic TLS)', '127.0.0.50', 2550, 'Opportunistic'],
    ]);
    const files = postfixConfig(instance(routes));
    expect(files.transport).toBe('contoso.example smtp:[127.0.0.20]:2520\ntailspin.example smtp:[127.0.0.50]:2550\n');
    expect(files.tls_policy).toBe('[127.0.0.20]:2520 secure match=mail.protection.outlook.example\n[127.0.0.50]:2550 may\n');
  });

  it('binds the listener to the node address and port, sends from that address, and keeps everything under the node folder', async () => {
    const files = postfixConfig(instance(await routesOf(topology)));
    expect(files['master.cf'].split('\n')[1]).toMatch(/^127\.0\.0\.30:2530\s+inet\s+n\s+-\s+n\s+-\s+-\s+smtpd$/);
    expect(files['master.cf']).toMatch(/^postlog\s+unix-dgram .* postlogd$/m);
    expect(files['master.cf']).not.toMatch(/ y /); // no chroot: the instance has no jail to copy files into
    const main = mainCf(files['main.cf']);
    expect(main.get('smtp_bind_address')).toBe('127.0.0.30');
    expect(main.get('queue_directory')).toBe('/lab/fabrikam/queue');
    expect(main.get('maillog_file')).toBe('/lab/fabrikam/maillog');
    expect(main.get('compatibility_level')).toBe('3.6');
    expect(main.get('myhostname')).toBe('mail.fabrikam.example');
  });

  it('offers STARTTLS with the node certificate, asks for client certificates and trusts the lab authorities', async () => {
    const main = mainCf(postfixConfig(instance(await routesOf(topology)))['main.cf']);
    expect(main.get('smtpd_tls_security_level')).toBe('may');
    expect(main.get('smtpd_tls_cert_file')).toBe(paths.certFile);
    expect(main.get('smtpd_tls_ask_ccert')).toBe('yes');
    expect(main.get('smtp_tls_CAfile')).toBe(paths.caFile);
    expect(main.get('smtp_tls_cert_file')).toBe(paths.certFile);
    const plain = mainCf(postfixConfig({ ...instance([]), hasCertificate: false })['main.cf']);
    expect(plain.get('smtpd_tls_security_level')).toBe('none');
    expect(plain.has('smtpd_tls_cert_file')).toBe(false);
  });

  it('delivers its mailboxes to Maildirs under the node folder, and takes limits from the receive connector', () => {
    const spec: NodeSpec = { ...partner, receiveConnectors: [{ Name: 'in', MaxMessageSize: '10 MB', RequireTLS: true }] };
    const files = postfixConfig(instance([], spec));
    expect(files.vmailbox).toBe('Ann@fabrikam.example ann@fabrikam.example/\n');
    const main = mainCf(files['main.cf']);
    expect(main.get('virtual_mailbox_domains')).toBe('fabrikam.example');
    expect(main.get('virtual_mailbox_base')).toBe('/lab/fabrikam/mail');
    expect(main.get('message_size_limit')).toBe(String(10 * 1024 * 1024));
    expect(main.get('smtpd_tls_security_level')).toBe('encrypt');
  });

  it('lets relay only the node itself and the clients of connectors that grant relaying', () => {
    const spec: NodeSpec = {
      ...partner,
      role: 'appliance',
      stripHeaders: ['X-MS-Exchange-*'],
      receiveConnectors: [
        { Name: 'From on-premises', RemoteIPRanges: ['127.0.0.10'], AuthMechanism: ['ExternalAuthoritative'] },
        { Name: 'Anyone', RemoteIPRanges: ['0.0.0.0-255.255.255.255'] },
      ],
    };
    const files = postfixConfig(instance([], spec));
    expect(mainCf(files['main.cf']).get('mynetworks')).toBe('127.0.0.30/32 127.0.0.10/32');
    expect(files.header_checks).toBe('/^X-MS-Exchange-.*:/ IGNORE\n');
  });

  it("writes the node's TLS versions and ciphers for both directions, mandatory TLS included", () => {
    const main = mainCf(
      postfixConfig(instance([], { ...partner, tls: { minVersion: 'TLSv1', maxVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' } }))['main.cf'],
    );
    for (const p of ['smtpd_tls_protocols', 'smtpd_tls_mandatory_protocols', 'smtp_tls_protocols', 'smtp_tls_mandatory_protocols'])
      expect(main.get(p)).toBe('>=TLSv1, <=TLSv1');
    expect(main.get('tls_high_cipherlist')).toBe('DEFAULT@SECLEVEL=0');
    expect(main.get('smtp_tls_mandatory_ciphers')).toBe('high');
    const plain = mainCf(postfixConfig(instance([]))['main.cf']);
    expect(plain.has('smtp_tls_protocols')).toBe(false);
    expect(plain.has('tls_high_cipherlist')).toBe(false);
  });

  it('maps the four Exchange TLS settings onto Postfix security levels', () => {
    const base = { host: 'mx.b.example', ignoreStartTls: false };
    expect(tlsPolicyOf({ ...base, requirement: 'Opportunistic' })).toEqual({ level: 'may' });
    expect(tlsPolicyOf({ ...base, requirement: 'EncryptionOnly' })).toEqual({ level: 'encrypt' });
    expect(tlsPolicyOf({ ...base, requirement: 'CertificateValidation' })).toEqual({ level: 'verify', match: 'mx.b.example' });
    expect(tlsPolicyOf({ ...base, requirement: 'DomainValidation', tlsDomain: 'b.example' })).toEqual({ level: 'secure', match: 'b.example' });
    expect(tlsPolicyOf({ ...base, requirement: 'Opportunistic', ignoreStartTls: true })).toEqual({ level: 'none' });
  });

  it('writes IP ranges as CIDR blocks', () => {
    expect(rangeToCidrs('10.0.0.5')).toEqual(['10.0.0.5/32']);
    expect(rangeToCidrs('10.0.0.0/24')).toEqual(['10.0.0.0/24']);
    expect(rangeToCidrs('10.0.0.1-10.0.0.6')).toEqual(['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/31', '10.0.0.6/32']);
    expect(rangeToCidrs('0.0.0.0-255.255.255.255')).toEqual(['0.0.0.0/0']);
    expect(() => rangeToCidrs('not an ip')).toThrow(/not an IPv4 address/);
  });
});

describe('validating a Postfix node', () => {
  const problems = (spec: NodeSpec) => {
    const found: string[] = [];
    validateTopology({ nodes: { n: spec } }, (path, message) => found.push(`${path.join('.')}: ${message}`));
    return found;
  };

  it('accepts the roles Postfix can play and refuses an Exchange role', () => {
    expect(problems({ ...partner, certificate: undefined })).toEqual([]);
    expect(problems({ role: 'exchange-server', implementation: 'postfix', hostname: 'mail.contoso.example', address: '127.0.0.10' })).toEqual([
      'nodes.n.implementation: implementation: postfix can play a partner, internet, appliance node; role exchange-server needs implementation: relaylab',
    ]);
  });

  it('refuses settings the written Postfix instance would silently ignore', () => {
    expect(problems({ ...partner, certificate: undefined, proxyAddresses: { 'a@fabrikam.example': 'Ann@fabrikam.example' } })).toEqual([
      "nodes.n.proxyAddresses: proxyAddresses is not written into a Postfix node's configuration; remove it or use implementation: relaylab",
    ]);
  });
});
