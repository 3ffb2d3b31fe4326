import type { Explanation } from './explain';
import { crossTenantValue } from './stamps';

/**
 * `relaylab explain --scenario`: the path a real message took, replayed on relaylab's own cast
 * (scenarios/README.md): the Internet sender is tailspin, Exchange Online is eop (eop-woodgrove
 * when another tenant delivered it), on premises is onprem, a non-Exchange host between them is
 * the gateway. The scenario expects the classification the real headers show, so running it says
 * whether the lab reproduces what production did.
 */

export type CastNode = 'tailspin' | 'eop' | 'eop-woodgrove' | 'onprem' | 'gateway';

export interface Replay {
  /** Bundled topology file name (under scenarios/topologies/). */
  topology: 'hybrid.yaml' | 'mx-onprem.yaml';
  path: CastNode[];
  /** Why a hop could not be cast, when the path does not fit the cast. */
  unsupported?: string;
}

const ADDRESS: Record<CastNode, string> = {
  tailspin: 'tom@tailspin.example',
  eop: 'carol@contoso.example',
  'eop-woodgrove': 'mallory@woodgrove.example',
  onprem: 'alice@contoso.example',
  gateway: 'alice@contoso.example',
};

/** The message's path as cast nodes: consecutive hosts of one kind (Exchange Online's internal hops) are one node. */
export function castPath(e: Explanation): Replay {
  const foreignTenant = e.classification.causes.includes('foreign-tenant');
  const first = e.hops[0];
  const kinds = [first?.fromKind ?? 'unknown', ...e.hops.map((h) => h.kind)];
  const path: CastNode[] = [];
  kinds.forEach((kind, i) => {
    const later = kinds.slice(i + 1).some((k) => k === 'exchange-online' || k === 'exchange-server');
    const earlier = kinds.slice(0, i).some((k) => k === 'exchange-online' || k === 'exchange-server');
    const node: CastNode =
      kind === 'exchange-online'
        ? foreignTenant
          ? 'eop-woodgrove'
          : 'eop'
        : kind === 'exchange-server'
          ? 'onprem'
          : earlier && later
            ? 'gateway'
            : 'tailspin';
    if (path[path.length - 1] !== node) path.push(node);
  });
  const topology = path[0] === 'tailspin' && path[1] === 'onprem' ? 'mx-onprem.yaml' : 'hybrid.yaml';
  const replay: Replay = { topology, path };
  if (path.length < 2) replay.unsupported = 'the Received chain shows fewer than two hosts: nothing to replay';
  else if (path.filter((n) => n === 'gateway').length > 1) replay.unsupported = 'more than one non-Exchange host between Exchange servers';
  else if (path.includes('gateway') && !(path[0] === 'onprem' && path[1] === 'gateway' && path[2] === 'eop'))
    replay.unsupported = 'the cast has a gateway only between on premises and Exchange Online';
  return replay;
}

const yamlString = (s: string) => JSON.stringify(s);

/** The scenario file's text; `topologyRef` is the path to write for a bundled topology file. */
/** The lab's content filter knows one spam: GTUBE (docs/exchange.md). A spam verdict is replayed with it. */
const GTUBE_BODY = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

const HYBRID_SEND_CONNECTOR = ['        - Name: Outbound to Office 365', '          AddressSpaces: ["smtp:contoso.mail.onmicrosoft.example;1"]'];

/** Settings that make the lab break internal status the way the headers say production did. */
function causePatch(e: Explanation, path: CastNode[]): string[] {
  const causes = e.classification.causes;
  if (path.includes('gateway'))
    return [
      '  nodes:',
      '    onprem:',
      '      sendConnectors:',
      ...HYBRID_SEND_CONNECTOR,
      '          DNSRoutingEnabled: false',
      '          SmartHosts: [gateway.contoso.example]',
      '          CloudServicesMailEnabled: true',
    ];
  if (causes.includes('hybrid-hop-plaintext'))
    return [
      '  nodes:',
      '    onprem:',
      '      sendConnectors:',
      ...HYBRID_SEND_CONNECTOR,
      '          DNSRoutingEnabled: true',
      '          RequireTLS: false',
      '          TlsAuthLevel: null',
      '          IgnoreSTARTTLS: true',
      '          CloudServicesMailEnabled: true',
    ];
  if (causes.includes('certificate-not-matched'))
    return [
      '  nodes:',
      '    eop:',
      '      inboundConnectors:',
      '        - Name: Inbound from on-premises',
      '          ConnectorType: OnPremises',
      '          TlsSenderCertificateName: hybrid.contoso.example',
      '          CloudServicesMailEnabled: true',
    ];
  return [];
}

export function replayScenario(
  e: Explanation,
  name: string,
  topologyRef: (file: string) => string,
  schemaRef = '../schemas/scenario.schema.json',
): { text: string; replay: Replay } {
  const replay = castPath(e);
  const { path } = replay;
  const from = ADDRESS[path[0]!];
  const last = path[path.length - 1]!;
  const to = ADDRESS[last];
  const c = e.classification;
  const hops: string[] = [];
  path.slice(1).forEach((node, i) => {
    const fields = [`from: ${path[i]}`, `to: ${node}`];
    const isLast = i === path.length - 2;
    if (isLast && (node === 'eop' || node === 'eop-woodgrove' || node === 'onprem') && c.source === 'organization' && c.authAs) {
      fields.push(`authAs: ${yamlString(c.authAs)}`);
      if (c.directionality) fields.push(`directionality: ${yamlString(c.directionality)}`);
    } else if (node === 'eop' && crossTenantValue(e.stamps, 'AuthAs')) fields.push(`authAs: ${yamlString(crossTenantValue(e.stamps, 'AuthAs')!)}`);
    if (node === 'eop' && path[i] !== 'eop' && c.filtering?.sfv) fields.push(`sfv: ${yamlString(c.filtering.sfv)}`);
    hops.push(`      - { ${fields.join(', ')} }`);
  });
  const seen = e.hops.map(
    (h, i) =>
      `#   ${i + 1}. ${h.from ?? '?'} → ${h.by ?? '?'}${h.tls ? ` (${h.tls.protocol ?? 'TLS'}${h.tls.cipher ? ` ${h.tls.cipher}` : ''})` : h.tls === null ? ' (no TLS)' : ''}`,
  );
  const changes = causePatch(e, path);
  const patch = changes.length ? ['patch:', ...changes] : [];
  const spam = c.filtering?.sfv === 'SPM';
  const text = [
    `# yaml-language-server: $schema=${schemaRef}`,
    '#',
    `# Written by relaylab explain from a real message${e.subject ? ` ("${e.subject.replace(/[\r\n]/g, ' ')}")` : ''}: its path replayed on`,
    "# relaylab's cast (tailspin = the Internet, eop = Exchange Online, onprem = on premises,",
    '# gateway = a host between them that is not Exchange). The Received chain it came from:',
    ...seen,
    `# Classification in the real headers: AuthAs ${c.authAs ?? '(none)'}${c.directionality ? `, ${c.directionality}` : ''}${c.filtering?.sfv ? `, SFV:${c.filtering.sfv}` : ''}.`,
    ...(replay.unsupported ? [`# Not replayed exactly: ${replay.unsupported}.`] : []),
    ...(spam ? ["# The message was spam (SFV:SPM); the lab's content filter knows only GTUBE, so the replay carries it."] : []),
    ...(e.classification.causes.length
      ? [`# What broke internal status, as the headers tell it: ${e.classification.causes.join(', ')}; the patch sets that up.`]
      : []),
    `name: ${yamlString(name)}`,
    `description: ${yamlString(`Replays ${path.join(' → ')} as the real message travelled, expecting its classification.`)}`,
    `topology: ${topologyRef(replay.topology)}`,
    ...patch,
    'messages:',
    `  - { id: replayed, from: ${from}, to: [${to}], via: ${path[0]}, subject: ${yamlString(`replay of ${e.subject ?? 'a real message'}`)}${spam ? `, body: ${yamlString(GTUBE_BODY)}` : ''} }`,
    'expect:',
    '  - message: replayed',
    '    state: delivered',
    `    path: [${path.join(', ')}]`,
    ...(hops.length ? ['    hops:', ...hops] : []),
    '',
  ].join('\n');
  return { text, replay };
}
