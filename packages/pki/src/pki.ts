import { join } from 'node:path';
import { normalizeSerial, type AuthoritySpec, type CertificateSpec, type Topology, type TrustStore } from '@relaylab/core';
import { createCrl, loadCrl } from './crl';
import { readIfExists, shortHash, writeAtomic } from './files';
import { generateAuthority, generateLeaf, windowFor, type KeyAndCert } from './generate';
import { certificateOf, derChain } from './pem';

export interface AuthorityMaterial extends KeyAndCert {
  name: string;
  trusted: boolean;
  crlPem: string;
}

export interface IssuedCertificate extends KeyAndCert {
  name: string;
  /** What a server sends: the leaf and any intermediates (the lab's CAs are roots, so just the leaf). */
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

  async authority(name: string, spec: AuthoritySpec): Promise<KeyAndCert> {
    const base = join(this.options.dir, 'authorities', `${name}-${shortHash(spec.commonName)}`);
    return this.once(`ca:${base}`, async () => {
      const keyPem = readIfExists(`${base}.key`);
      const certPem = readIfExists(`${base}.pem`);
      if (keyPem && certPem && new Date(certificateOf(certPem).validTo) > this.now()) {
        this.reused.push(`${base}.pem`);
        return { keyPem, certPem };
      }
      const made = await generateAuthority(spec.commonName, this.now());
      writeAtomic(`${base}.key`, made.keyPem, 0o600);
      writeAtomic(`${base}.pem`, made.certPem);
      this.generated.push(`${base}.pem`);
      return made;
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

  async leaf(name: string, spec: CertificateSpec, issuer: KeyAndCert | undefined): Promise<IssuedCertificate> {
    const issuerTag = issuer ? certificateOf(issuer.certPem).fingerprint256.replace(/:/g, '').slice(0, 12) : 'self';
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
        chainPem: certPem,
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
    const authorities = new Map<string, AuthorityMaterial>();
    const issued = new Map<string, KeyAndCert>();
    for (const [name, spec] of Object.entries(topology.authorities ?? {})) {
      issued.set(name, await this.authority(name, spec));
    }
    const certificates = new Map<string, IssuedCertificate>();
    await Promise.all(
      Object.entries(topology.certificates ?? {}).map(async ([name, spec]) => {
        const issuer = spec.issuer === 'self' ? undefined : issued.get(spec.issuer);
        if (spec.issuer !== 'self' && !issuer) throw new Error(`certificate ${name}: unknown issuer ${spec.issuer}`);
        certificates.set(name, await this.leaf(name, spec, issuer));
      }),
    );
    for (const [name, spec] of Object.entries(topology.authorities ?? {})) {
      const ca = issued.get(name)!;
      const revoked = Object.entries(topology.certificates ?? {})
        .filter(([, c]) => c.issuer === name && c.revoked)
        .map(([certName]) => certificates.get(certName)!.serial);
      authorities.set(name, { name, trusted: spec.trusted !== false, ...ca, crlPem: await this.crl(name, ca, revoked) });
    }
    return { authorities, certificates };
  }
}

/** The trust store of a node: the named authorities (default: every trusted one) and their CRLs. */
export async function trustStoreFor(lab: LabCertificates, names?: string[]): Promise<TrustStore> {
  const chosen = names ? names.map((n) => lab.authorities.get(n)!).filter(Boolean) : [...lab.authorities.values()].filter((a) => a.trusted);
  return {
    anchors: chosen.map((a) => certificateOf(a.certPem)),
    crls: await Promise.all(chosen.map((a) => loadCrl(a.crlPem, a.certPem))),
  };
}

export { derChain, windowFor };
