import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// DESIGN.md: a package may import only packages listed before it.
const ORDER = ['core', 'pki', 'mta', 'lab', 'report', 'cli', 'jest'];
const root = resolve(__dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const packages = readdirSync(root).filter((p) => ORDER.includes(p));

test.each(packages)('%s imports only packages before it, and never another package’s src/', (pkg) => {
  const allowed = ORDER.slice(0, ORDER.indexOf(pkg));
  const offences: string[] = [];
  for (const file of sources(join(root, pkg, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/from '(@relaylab\/[^']+|\.\.\/\.\.\/[^']+)'/g)) {
      const target = m[1];
      const name = /^@relaylab\/([^/]+)$/.exec(target)?.[1];
      if (!name || !allowed.includes(name)) offences.push(`${file.slice(root.length + 1)} imports ${target}`);
    }
  }
  expect(offences).toEqual([]);
});

test.each(packages)('%s declares the sibling packages it imports and references them in tsconfig', (pkg) => {
  const manifest = JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const tsconfig = JSON.parse(readFileSync(join(root, pkg, 'tsconfig.json'), 'utf8')) as { references?: Array<{ path: string }> };
  const imported = new Set<string>();
  for (const file of sources(join(root, pkg, 'src'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/from '@relaylab\/([^']+)'/g)) imported.add(m[1]);
  }
  const declared = Object.keys(manifest.dependencies ?? {}).filter((d) => d.startsWith('@relaylab/')).map((d) => d.slice(10));
  const referenced = (tsconfig.references ?? []).map((r) => r.path.replace('../', ''));
  for (const name of imported) {
    expect(declared).toContain(name);
    expect(referenced).toContain(name);
  }
});
