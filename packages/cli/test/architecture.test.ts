import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The intended dependency graph (docs/architecture.md): each package names exactly the siblings it
 * may import. Stricter than "only packages before it": report renders results and never drives a
 * node (no mta), and jest is a library for users' tests, never the CLI.
 */
const GRAPH: Record<string, string[]> = {
  core: [],
  pki: ['core'],
  mta: ['core'],
  lab: ['core', 'pki', 'mta'],
  report: ['core', 'lab'],
  cli: ['core', 'pki', 'mta', 'lab', 'report'],
  jest: ['core', 'lab'],
};
const root = resolve(__dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier a file loads: static imports and re-exports, `import()` and `require()`. */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(
    /\bfrom\s+['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]|\brequire\s*\(\s*['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]/gm,
  )) {
    found.push((m[1] ?? m[2] ?? m[3] ?? m[4])!);
  }
  return found;
}

/** The sibling a specifier names, or `src/` reached by a relative path out of the package. */
function sibling(spec: string): string | undefined {
  return /^@relaylab\/([^/]+)/.exec(spec)?.[1];
}

const packages = readdirSync(root).filter((p) => p in GRAPH);

test('every workspace package has a place in the graph', () => {
  expect(packages.sort()).toEqual(Object.keys(GRAPH).sort());
});

test('the specifier scan sees static, dynamic and require imports', () => {
  const text =
    "import { a } from '@relaylab/core';\nexport * from '@relaylab/lab';\nconst m = await import('@relaylab/mta');\nconst r = require(\"@relaylab/pki\");\nimport 'reflect-metadata';";
  expect(specifiers(text)).toEqual(['@relaylab/core', '@relaylab/lab', '@relaylab/mta', '@relaylab/pki', 'reflect-metadata']);
});

test.each(packages)('%s imports only the siblings the graph allows, and never another package’s files', (pkg) => {
  const allowed = GRAPH[pkg]!;
  const offences: string[] = [];
  for (const file of sources(join(root, pkg, 'src'))) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const name = sibling(spec);
      const deep = /^@relaylab\/[^/]+\/./.test(spec) || /^(\.\.\/){2,}/.test(spec);
      if (deep || (name !== undefined && !allowed.includes(name))) offences.push(`${file.slice(root.length + 1)} imports ${spec}`);
    }
  }
  expect(offences).toEqual([]);
});

test.each(packages)('%s declares and references exactly the siblings it imports', (pkg) => {
  const manifest = JSON.parse(readFileSync(join(root, pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const tsconfig = JSON.parse(readFileSync(join(root, pkg, 'tsconfig.json'), 'utf8')) as { references?: Array<{ path: string }> };
  const imported = new Set<string>();
  for (const file of sources(join(root, pkg, 'src'))) {
    for (const spec of specifiers(readFileSync(file, 'utf8'))) {
      const name = sibling(spec);
      if (name) imported.add(name);
    }
  }
  const declared = Object.keys(manifest.dependencies ?? {})
    .filter((d) => d.startsWith('@relaylab/'))
    .map((d) => d.slice('@relaylab/'.length));
  const referenced = (tsconfig.references ?? []).map((r) => r.path.replace('../', ''));
  // a declared but unused sibling is a dependency a user installs for nothing
  expect({ declared: declared.sort(), referenced: referenced.sort() }).toEqual({ declared: [...imported].sort(), referenced: [...imported].sort() });
});
