/** `relaylab run --help`, on its own so that `relaylab --help` can show it without loading the runner. */

/** The report package's DEFAULT_OUTPUT_DIR, spelled out so help loads no package (test/run-help.test.ts keeps them equal). */
const DEFAULT_OUTPUT_DIR = 'relaylab-report';

export const RUN_HELP = `relaylab run [paths...] [options] — run scenario files or folders (default: scenarios/)

Options:
  --list               print the scenarios with their description and exit
  --grep <regex>       run only scenarios whose name or description matches
  --concurrency <n>    scenarios run side by side (default 4)
  --certs <dir>        certificate cache (default: ./certs, or $RELAYLAB_CERTS)
  --trace <file>       write every trace event (hops, TLS, connectors, replies, header edits)
                       as JSON lines, each tagged with its scenario and its message-tracking EventId
  --reporter <list>    pretty, json, junit, html; several comma-separated or repeated (default pretty)
  --output <dir>       where json (results.json), junit (junit.xml) and html (index.html) are
                       written (default ${DEFAULT_OUTPUT_DIR}/)
  --settle-timeout <s> how long, in real seconds, each settle (after the messages, a step, an
                       advance's clock moment) may wait for the lab to go quiet (default 30);
                       raise it for scenarios that send thousands of messages
  --verbose            node logs (pino) on stderr
  -h, --help           this help

Exit codes: 0 all scenarios passed; 1 a scenario failed; 2 bad input or usage
(a malformed scenario is reported with file:line:column and the field, before anything starts).
`;
