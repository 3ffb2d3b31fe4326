import { join } from 'node:path';
import { normalizeSerial, type AuthoritySpec, type CertificateSpec, type Topology, type TrustStore } from '@relaylab/core';
import { createCrl, loadCrl } from './crl';
import { readIfExists, shortHash, writeAtomic } from './files';
import { generateAuthority, generateLeaf, windowFor, type KeyAndCert } from './generate';
import { certificateOf, derChain } from './pem';

export interface AuthorityMaterial extends KeyAndCert {
  name: string;
  /** Whether nodes trust its root by default; an intermediate is trusted only through its root. */
  trusted: boolean;
  /** The authority that issued this one; absent for a root. */
  issuer?: string;
  /** The root this authority chains to (itself for a root). */
  root: string;
  crlPem: string;
  /** The CA certificate's file in the cache, e.g. for `openssl s_client -CAfile`. */
  file: string;
}

export interface IssuedCertificate extends KeyAndCert {
  name: string;
  /** The full chain a server sends: the leaf, then each intermediate up to (not including) the root. */
  chainPem: string;
  serial: string;
  files: { key: string; cert: string };
}

export interface LabCertificates {
  authorities: Map<string, AuthorityMaterial>;
  certificates: Map<string, IssuedCertificate>;
}

export interface PkiOptions {
  /** Cache folder, `certs/` at the top of the repository by default. */
  dir: string;
  now?: () => Date;
}

/**
 * Makes the certificates a topology names and keeps them under `dir`, so the next run reuses
 * them. A cached file is reused only while it still means what its spec says (a "valid"
 * certificate that has since expired is made again).
 */
export class Pki {
  private readonly now: () => Date;
  private readonly pending = new Map<string, Promise<unknown>>();
  /** Files made and files reused by this instance, so callers (and tests) can tell a cache hit from a miss. */
  readonly generated: string[] = [];
  readonly reused: string[] = [];

  constructor(private readonly options: PkiOptions) {
    this.now = options.now ?? (() => new Date());
  }

  private once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let p = this.pending.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.pending.set(key, p);
      p.catch(() => this.pending.delete(key));
    }
    return p;
  }

  /** A root, or with `issuer` an intermediate signed by it; the file name says which issuer, so a new root remakes its intermediates. */
  async authority(name: string, spec: AuthoritySpec, issuer?: KeyAndCert): Promise<KeyAndCert & { file: string }> {
    const tag = issuer ? shortHash({ commonName: spec.commonName, issuer: fingerprintTag(issuer) }) : shortHash(spec.commonName);
    const base = join(this.options.dir, 'authorities', `${name}-${tag}`);
    return this.once(`ca:${base}`, async () => {
      const file = `${base}.pem`;
      const keyPem = readIfExists(`${base}.key`);
      const certPem = readIfExists(file);
      if (keyPem && certPem && new Date(certificateOf(certPem).validTo) > this.now()) {
        this.reused.push(file);
        return { keyPem, certPem, file };
      }
      const made = await generateAuthority(spec.commonName, this.now(), issuer);
      writeAtomic(`${base}.key`, made.keyPem, 0o600);
      writeAtomic(file, made.certPem);
      this.generated.push(file);
      return { ...made, file };
    });
  }

  private stillMeans(spec: CertificateSpec, certPem: string): boolean {
    const cert = certificateOf(certPem);
    const now = this.now();
    const from = new Date(cert.validFrom);
    const to = new Date(cert.validTo);
    switch (spec.validity ?? 'valid') {
      case 'expired':
        return to < now;
      case 'not-yet-valid':
        return from > now;
      default:
        return from <= now && to > new Date(now.getTime() + 30 * 86_400_000);
    }
  }

  /** `intermediates`: the CA certificates between the issuer and its root, the issuer first (none when a root issued it). */
  async leaf(name: string, spec: CertificateSpec, issuer: KeyAndCert | undefined, intermediates: string[] = []): Promise<IssuedCertificate> {
    const issuerTag = issuer ? fingerprintTag(issuer) : 'self';
    const key = shortHash({ subject: spec.subject, sans: spec.sans ?? [], issuerTag, validity: spec.validity ?? 'valid' });
    const base = join(this.options.dir, 'leaves', `${name}-${key}`);
    return this.once(`leaf:${base}`, async () => {
      let keyPem = readIfExists(`${base}.key`);
      let certPem = readIfExists(`${base}.pem`);
      if (!keyPem || !certPem || !this.stillMeans(spec, certPem)) {
        const made = await generateLeaf(spec, issuer, this.now());
        writeAtomic(`${base}.key`, made.keyPem, 0o600);
        writeAtomic(`${base}.pem`, made.certPem);
        this.generated.push(`${base}.pem`);
        ({ keyPem, certPem } = made);
      } else {
        this.reused.push(`${base}.pem`);
      }
      return {
        name,
        keyPem,
        certPem,
        chainPem: [certPem, ...intermediates].map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join(''),
        serial: normalizeSerial(certificateOf(certPem).serialNumber),
        files: { key: `${base}.key`, cert: `${base}.pem` },
      };
    });
  }

  async crl(name: string, ca: KeyAndCert, serials: string[]): Promise<string> {
    const sorted = [...serials].sort();
    const path = join(this.options.dir, 'crl', `${name}-${shortHash({ ca: certificateOf(ca.certPem).fingerprint256, sorted })}.crl.pem`);
    return this.once(`crl:${path}`, async () => {
      const cached = readIfExists(path);
      if (cached) {
        this.reused.push(path);
        return cached;
      }
      const pem = await createCrl(ca, sorted, this.now());
      writeAtomic(path, pem);
      this.generated.push(path);
      return pem;
    });
  }

  /** Everything a topology's nodes present and trust. */
  async forTopology(topology: Topology): Promise<LabCertificates> {
    const specs = topology.authorities ?? {};
    const lineages = authorityLineages(specs);
    const authorities = new Map<string, AuthorityMaterial>();
    const issued = new Map<string, KeyAndCert & { file: string }>();
    // Issuers first: a lineage lists the authority, its issuer, ... up to the root.
    for (const name of Object.keys(specs).sort((a, b) => lineages.get(a)!.length - lineages.get(b)!.length)) {
      const spec = specs[name]!;
      issued.set(name, await this.authority(name, spec, spec.issuer === undefined ? undefined : issued.get(spec.issuer)));
    }
    const certificates = new Map<string, IssuedCertificate>();
    await Promise.all(
      Object.entries(topology.certificates ?? {}).map(async ([name, spec]) => {
        const issuer = spec.issuer === 'self' ? undefined : issued.get(spec.issuer);
        if (spec.issuer !== 'self' && !issuer) throw new Error(`certificate ${name}: unknown issuer ${spec.issuer}`);
        const intermediates =
          spec.issuer === 'self'
            ? []
            : lineages
                .get(spec.issuer)!
                .slice(0, -1)
                .map((ca) => issued.get(ca)!.certPem);
        certificates.set(name, await this.leaf(name, spec, issuer, intermediates));
      }),
    );
    for (const [name, spec] of Object.entries(specs)) {
      const ca = issued.get(name)!;
      const lineage = lineages.get(name)!;
      const root = lineage[lineage.length - 1]!;
      const revoked = Object.entries(topology.certificates ?? {})
        .filter(([, c]) => c.issuer === name && c.revoked)
        .map(([certName]) => certificates.get(certName)!.serial);
      authorities.set(name, {
        name,
        trusted: specs[root]!.trusted !== false,
        issuer: spec.issuer,
        root,
        ...ca,
        crlPem: await this.crl(name, ca, revoked),
      });
    }
    return { authorities, certificates };
  }
}

function fingerprintTag(ca: KeyAndCert): string {
  return certificateOf(ca.certPem).fingerprint256.replace(/:/g, '').slice(0, 12);
}

/** For each authority, itself and its issuers up to the root; an unknown issuer or a loop is an error. */
export function authorityLineages(specs: Record<string, AuthoritySpec>): Map<string, string[]> {
  const lineages = new Map<string, string[]>();
  for (const name of Object.keys(specs)) {
    const lineage = [name];
    for (let issuer = specs[name]!.issuer; issuer !== undefined; issuer = specs[issuer]?.issuer) {
      if (!specs[issuer]) throw new Error(`authority ${lineage[lineage.length - 1]}: unknown issuer ${issuer}`);
      if (lineage.includes(issuer)) throw new Error(`authorities ${[...lineage, issuer].join(' → ')} issue each other in a loop: one of them must be a root`);
      lineage.push(issuer);
    }
    lineages.set(name, lineage);
  }
  return lineages;
}

/**
 * The trust store of a node: the named roots (default: every trusted one) as anchors, and the CRLs
 * of those roots and of the intermediates under them. An intermediate is never an anchor: a peer
 * that leaves it out of its handshake cannot be verified, as in the field.
 */
export async function trustStoreFor(lab: LabCertificates, names?: string[]): Promise<TrustStore> {
  const roots = names
    ? names.map((n) => {
        const authority = lab.authorities.get(n);
        if (authority && authority.root !== n) throw new Error(`trust anchors are roots only: ${n} is issued by ${authority.issuer}; trust ${authority.root}`);
        return authority;
      })
    : [...lab.authorities.values()].filter((a) => a.trusted && a.root === a.name);
  const anchors = roots.filter((a): a is AuthorityMaterial => a !== undefined);
  const revoking = [...lab.authorities.values()].filter((a) => anchors.some((root) => root.name === a.root));
  return {
    anchors: anchors.map((a) => certificateOf(a.certPem)),
    crls: await Promise.all(revoking.map((a) => loadCrl(a.crlPem, a.certPem))),
  };
}

export { derChain, windowFor };
