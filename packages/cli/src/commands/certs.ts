import { resolve } from 'node:path';
import { Pki } from '@relaylab/pki';
import { guarded, loadTopology, parseWithEnv, required, type Io } from './shared';

export const CERTS_HELP = `Usage: relaylab certs --config <topology> [--certs <dir>]

Makes (or reuses) every certificate the topology names, in the cache the nodes read. Run it once
before starting nodes as separate processes, or they would each mint their own authorities
(the one-shot "certs" service of docker-compose.yml).
`;

const OPTIONS = { config: { type: 'string' }, certs: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;

export function certsCommand(args: string[], io: Io): Promise<number> {
  return guarded('certs', io, CERTS_HELP, async () => {
    const { values } = parseWithEnv(args, OPTIONS);
    if (values.help) {
      io.out.write(CERTS_HELP);
      return 0;
    }
    const topology = loadTopology(required(values, 'config'), undefined);
    const dir = resolve((values.certs as string | undefined) ?? 'certs');
    const pki = new Pki({ dir });
    const made = await pki.forTopology(topology);
    for (const [name, c] of made.certificates) io.out.write(`${name}\t${c.files.cert}\n`);
    io.out.write(`certificates: ${pki.reused.length} reused from ${dir}, ${pki.generated.length} generated\n`);
    return 0;
  });
}
