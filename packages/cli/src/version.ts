import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The CLI package's version, from its package.json: one level above both src/ and dist/. */
export function cliVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')) as { version: string }).version;
}
