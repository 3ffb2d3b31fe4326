/**
 * Checks on the lab PKI and the nodes' TLS settings that the schema cannot express: who issues
 * which authority, which authorities may be trust anchors, and TLS versions OpenSSL can honour.
 */
import type { Topology, TlsVersion } from '@relaylab/core';
import type { Report } from './validate';
import type { FieldPath } from './yaml-positions';

export type CheckReference = (report: Report, path: FieldPath, name: string, known: string[], kind: string, alternative?: string) => void;

const VERSIONS: TlsVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
const rank = (v: TlsVersion) => VERSIONS.indexOf(v);

export function checkAuthoritiesAndTls(topology: Topology, report: Report, at: FieldPath, checkReference: CheckReference): void {
  const specs = topology.authorities ?? {};
  const names = Object.keys(specs);
  for (const [name, spec] of Object.entries(specs)) {
    if (spec.issuer === undefined) continue;
    const here = [...at, 'authorities', name];
    if (spec.issuer === name) {
      report([...here, 'issuer'], `authority "${name}" cannot issue itself; leave out issuer for a root`);
      continue;
    }
    checkReference(
      report,
      [...here, 'issuer'],
      spec.issuer,
      names.filter((n) => n !== name),
      'authority',
    );
    const lineage = [name];
    for (let issuer: string | undefined = spec.issuer; issuer !== undefined && specs[issuer]; issuer = specs[issuer]!.issuer) {
      if (lineage.includes(issuer)) {
        report([...here, 'issuer'], `authorities ${[...lineage, issuer].join(' → ')} issue each other in a loop; one of them must be a root (no issuer)`);
        break;
      }
      lineage.push(issuer);
    }
    if (spec.trusted !== undefined) {
      report(
        [...here, 'trusted'],
        `"${name}" is an intermediate (issued by "${spec.issuer}"): only roots are trust anchors, so set trusted on its root instead`,
        true,
      );
    }
  }

  for (const [nodeName, node] of Object.entries(topology.nodes)) {
    const here = [...at, 'nodes', nodeName];
    node.trust?.forEach((authority, i) => {
      const issuer = specs[authority]?.issuer;
      if (issuer !== undefined) {
        report([...here, 'trust', i], `"${authority}" is an intermediate (issued by "${issuer}"): trust anchors are roots only; trust its root instead`);
      }
    });
    const tls = node.tls;
    if (!tls) continue;
    if (tls.presentChain !== undefined && node.certificate === undefined) {
      report([...here, 'tls', 'presentChain'], `node "${nodeName}" has no certificate, so it presents no chain`, true);
    }
    if (tls.minVersion && tls.maxVersion && rank(tls.minVersion) > rank(tls.maxVersion)) {
      report([...here, 'tls', 'minVersion'], `minVersion ${tls.minVersion} is above maxVersion ${tls.maxVersion}: the node could speak no TLS version at all`);
    }
    // OpenSSL 3 (Node 20) refuses the SHA-1 signatures TLS 1.0 and 1.1 need at its default security level.
    const legacy = (['minVersion', 'maxVersion'] as const).filter((key) => tls[key] !== undefined && rank(tls[key]!) < rank('TLSv1.2'));
    if (legacy.length && !/@SECLEVEL=0/i.test(tls.ciphers ?? '')) {
      report(
        [...here, 'tls', legacy[legacy.length - 1]!],
        `${tls[legacy[legacy.length - 1]!]} needs ciphers: "DEFAULT@SECLEVEL=0" on this node (OpenSSL 3 refuses TLS 1.0 and 1.1 handshakes at its default security level)`,
      );
    }
  }
}
