import DNS from 'dns2';
import pino, { type Logger } from 'pino';
import { normalizeName, type Topology } from '@relaylab/core';
import { zoneOf, type Zone } from './dns-zone';

const { Packet } = DNS;

// dns2 3.0 is its last release for Node 20; its types have no Packet.RCODE or Packet.typeName.
/** RFC 1035 §4.1.1: "the domain name referenced in the query does not exist". */
const NXDOMAIN = 3;
/** The record type's mnemonic, for logs. */
const TYPE_NAMES = new Map<number, string>(Object.entries(Packet.TYPE).map(([name, code]) => [code, name]));
const typeName = (code: number): string => TYPE_NAMES.get(code) ?? `TYPE${code}`;

export interface TopologyDnsServerOptions {
  topology: Topology;
  address: string;
  port: number;
  logger?: Logger;
  /** Seconds; short, so a person editing a topology and restarting sees the change at once. */
  ttl?: number;
}

/**
 * An authoritative DNS server (UDP and TCP, on dns2) for a topology's A and MX records, so nodes in
 * separate processes or containers, and outside tools (dig, swaks, Postfix), resolve the lab's
 * names as the embedded lab does. Unknown names get NXDOMAIN; known names without the asked
 * type get an empty answer (NODATA), which is what lets a resolver fall back from MX to A.
 */
export class TopologyDnsServer {
  private readonly zone: Zone;
  private readonly server: DNS.DnsServer;
  private readonly logger: Logger;
  readonly address: string;
  readonly port: number;

  private constructor(private readonly o: TopologyDnsServerOptions) {
    this.zone = zoneOf(o.topology);
    this.address = o.address;
    this.port = o.port;
    this.logger = (o.logger ?? pino({ level: 'silent' })).child({ component: 'dns' });
    this.server = DNS.createServer({ udp: true, tcp: true, handle: (request, send) => void send(this.answer(request)) });
    this.server.on('requestError', (err) => this.logger.warn({ err }, 'malformed DNS request'));
  }

  static async start(o: TopologyDnsServerOptions): Promise<TopologyDnsServer> {
    const dns = new TopologyDnsServer(o);
    // UDP and TCP can both fail to bind: the first error rejects, the other must not go unhandled.
    let failed: Error | undefined;
    dns.server.on('error', (err: Error) => {
      if (failed || !started) failed ??= err;
      else dns.logger.error({ err }, 'DNS server error');
    });
    let started = false;
    await new Promise<void>((resolve, reject) => {
      dns.server.once('error', () => reject(failed));
      dns.server.listen({ udp: { port: o.port, address: o.address }, tcp: { port: o.port, address: o.address } }).then(() => {
        started = true;
        resolve();
      }, reject);
    }).catch((err: Error) => {
      // Release whichever transport did bind (dns2's close() waits for both to close, which an
      // unbound socket never does), or it would keep the process alive after the failure.
      for (const transport of Object.values((dns.server as unknown as { servers: Record<string, { close(): void }> }).servers)) {
        try {
          transport.close();
        } catch {
          // not bound: nothing to release
        }
      }
      throw err;
    });
    dns.logger.info({ address: o.address, port: o.port, names: dns.zone.a.size + dns.zone.mx.size }, 'DNS listening');
    return dns;
  }

  answer(request: DNS.Packet): DNS.Packet {
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    response.header.ra = 0;
    const ttl = this.o.ttl ?? 5;
    for (const q of request.questions) {
      const name = normalizeName(q.name);
      if (!this.zone.a.has(name) && !this.zone.mx.has(name)) {
        response.header.rcode = NXDOMAIN;
        this.logger.debug({ name, type: typeName(q.type) }, 'NXDOMAIN');
        continue;
      }
      if (q.type === Packet.TYPE.A || q.type === Packet.TYPE.ANY) {
        for (const address of this.zone.a.get(name) ?? []) {
          response.answers.push(Packet.createResourceFromQuestion(q, { type: Packet.TYPE.A, class: Packet.CLASS.IN, ttl, address }));
        }
      }
      if (q.type === Packet.TYPE.MX || q.type === Packet.TYPE.ANY) {
        for (const mx of this.zone.mx.get(name) ?? []) {
          response.answers.push(
            Packet.createResourceFromQuestion(q, { type: Packet.TYPE.MX, class: Packet.CLASS.IN, ttl, exchange: mx.exchange, priority: mx.preference }),
          );
        }
      }
      this.logger.debug({ name, type: typeName(q.type), answers: response.answers.length }, 'answered');
    }
    return response;
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}
