import { parseServer, TopologyDnsServer } from '@relaylab/mta';
import { ALLOW_NON_LOOPBACK, checkBind } from './loopback';
import { guarded, loadTopology, makeLogger, parseWithEnv, required, untilSignal, UsageError, type Io } from './shared';

export const DNS_HELP = `Usage: relaylab dns --config <topology> [--listen <ip:port>] [--relocate <a.b>]

Serves the topology's A and MX records over UDP and TCP, for nodes in separate processes or
containers and for outside tools: dig @127.0.0.53 -p 5300 MX contoso.example

  --config <file>      topology file (RELAYLAB_CONFIG)
  --listen <ip:port>   where to listen (default 127.0.0.53:5300; RELAYLAB_LISTEN)
  --relocate <a.b>     publish the addresses moved from 127.0.y.z to a.b.y.z (compose networks)
  --log-level <level>  pino level (default info)
  --allow-non-loopback listen outside 127.0.0.0/8 (and outside --relocate's network); the
                       DNS service is then reachable from the network, as stderr then says
`;

const OPTIONS = {
  config: { type: 'string' },
  listen: { type: 'string' },
  relocate: { type: 'string' },
  'log-level': { type: 'string' },
  [ALLOW_NON_LOOPBACK]: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export function dnsCommand(args: string[], io: Io): Promise<number> {
  return guarded('dns', io, DNS_HELP, async () => {
    const { values } = parseWithEnv(args, OPTIONS);
    if (values.help) {
      io.out.write(DNS_HELP);
      return 0;
    }
    const topology = loadTopology(required(values, 'config'), values.relocate as string | undefined);
    let listen;
    try {
      listen = parseServer((values.listen as string | undefined) ?? '127.0.0.53:5300');
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    checkBind({
      command: 'dns',
      what: 'the DNS service',
      option: '--listen',
      address: listen.address,
      allowed: values[ALLOW_NON_LOOPBACK] === true,
      relocate: values.relocate as string | undefined,
      err: io.err,
    });
    const logger = makeLogger(values['log-level'] as string | undefined);
    const server = await TopologyDnsServer.start({ topology, ...listen, logger });
    const signal = await untilSignal();
    logger.info({ signal }, 'shutting down');
    await server.close();
    return 0;
  });
}
