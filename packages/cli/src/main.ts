import { commandNamed } from './commands';
import { RUN_HELP } from './commands/run-help';
import { cliVersion } from './version';

const HELP = `relaylab — an Exchange hybrid mail lab of real SMTP servers on loopback

Usage:
  relaylab run [paths...] [options]   run scenario files or folders (default: scenarios/)
  relaylab up <topology>              start a lab and keep it up (table of nodes, live hops, .eml mailboxes)
  relaylab rehearse <plan.yaml>      rehearse a cutover: a plan's changes on the lab clock while mail flows
  relaylab load <topology> --from <node> --to <address>  drive traffic through the lab; throughput, hop latency, accounting
  relaylab node --config <t> --node <n>  run one node in this process (one container per node)
  relaylab dns --config <topology>    serve the topology's MX and A records (UDP and TCP)
  relaylab certs --config <topology>  make the topology's certificates before starting nodes
  relaylab import <exports...> [-o f] a topology from Exchange's exports (JSON, CSV, Clixml)
  relaylab lint <topology>            check a topology for known hybrid pitfalls (exit 1 on errors)
  relaylab explain <message.eml | ->  tell hop by hop what happened to a real message and why
  relaylab drive [paths...]           run scenarios with each node in its own process (or --attach)
  relaylab ctl <action>               drive a lab that relaylab up runs: status, send, down, up, advance, retry
  relaylab <command> --help           the options of each command
  relaylab --version, -V              print relaylab's version

${RUN_HELP.slice(RUN_HELP.indexOf('Options:')).replace('Options:', 'Options for run:')}`;

export async function main(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  if (!command) {
    err.write(HELP);
    return 2;
  }
  if (command === '-h' || command === '--help' || command === 'help') {
    out.write(HELP);
    return 0;
  }
  if (command === '--version' || command === '-V') {
    out.write(`${cliVersion()}\n`);
    return 0;
  }
  const other = commandNamed(command);
  if (other) return other(rest, { out, err });
  err.write(`relaylab: unknown command "${command}"\n\n${HELP}`);
  return 2;
}
