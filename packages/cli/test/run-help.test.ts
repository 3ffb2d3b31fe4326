import { DEFAULT_OUTPUT_DIR } from '@relaylab/report';
import { RUN_HELP } from '../src/commands/run-help';

test('run --help names the report folder the reporters really use', () => {
  expect(RUN_HELP).toContain(`(default ${DEFAULT_OUTPUT_DIR}/)`);
});
