import { parseDuration, READ_ONLY_PROPERTIES, TOPOLOGY_OBJECT_PROPERTIES } from '@relaylab/core';
import * as fs from 'fs';
import * as path from 'path';
import Ajv from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { NotSimulated, Topology } from '@relaylab/core';
import type { MessageSpec, Scenario, Step } from './scenario-model';
import { notSimulatedIn, readExchangeValues, rememberNotSimulated } from './exchange-values';
import { checkNamedListPatches, isNamedListPatch, patchNamedList } from './named-list-patch';
import { didYouMean, validateScenario, validateTopology } from './validate';
import type { MessageDocument, Report, ScenarioDocument, StepDocument } from './validate';
import { formatFieldPath, parseYaml, pointerToPath, positionOf } from './yaml-positions';
import type { FieldPath, ParsedYaml } from './yaml-positions';

export interface FileIssue {
  file: string;
  line: number;
  column: number;
  /** Dotted/bracketed path of the field, e.g. `nodes.eop.inboundConnectors[0].Name`. */
  field: string;
  message: string;
}

/** Every problem found in one scenario or topology file (and the topology file it names). */
export class ScenarioFileError extends Error {
  override readonly name = 'ScenarioFileError';

  constructor(
    /** The file that was being loaded; issues may also point into the topology file it names. */
    readonly file: string,
    readonly issues: FileIssue[],
  ) {
    super(issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.field}: ${i.message}`).join('\n'));
  }
}

export function loadTopologyFile(file: string): Topology {
  const { topology, issues } = checkTopologyFile(file);
  if (!topology) throw new ScenarioFileError(file, issues);
  return topology;
}

/**
 * The `topology` of a scenario or plan file: a file it names (read even when the document failed
 * its schema, so that a broken topology file is reported in the same run) or the inline one.
 */
export function documentTopology(
  file: string,
  value: unknown,
  schemaOk: boolean,
  report: Report,
  issues: FileIssue[],
): { topology?: Topology; topologyFile?: string } {
  const written = (value as { topology?: unknown } | null)?.topology;
  if (typeof written === 'string' && written !== '') {
    const topologyFile = referencedFile(file, written, ['topology'], report);
    if (!topologyFile) return {};
    const loaded = checkTopologyFile(topologyFile, [], (message) => report(['topology'], message));
    issues.push(...loaded.issues);
    return { topology: loaded.topology, topologyFile };
  }
  if (!schemaOk) return {};
  const topology = (value as { topology: Topology }).topology;
  validateTopology(topology, report, ['topology']);
  return { topology };
}

export function loadScenarioFile(file: string): Scenario {
  const source = readYamlFile(file);
  const issues = [...source.issues];
  if (!source.parsed) throw new ScenarioFileError(file, issues);
  const report = reporter(file, source.parsed, issues);
  // Exchange's shapes ($true, smtp:x;1, cmdlet properties not simulated) are read before the schema judges.
  const { parsed, notSimulated } = readScenarioExchangeValues(source.parsed, report);
  const schemaOk = reportSchemaErrors(schemas().scenario, parsed, report);
  const document = parsed.value as ScenarioDocument;

  const found = documentTopology(file, parsed.value, schemaOk, report, issues);
  let topology = found.topology;
  const topologyFile = found.topologyFile;
  if (schemaOk && topology && document.patch) {
    // The patched topology is checked whole; what is wrong is reported where the patch says it.
    checkNamedListPatches(document.patch, topology, report);
    const patched = mergePatch(topology, document.patch) as Topology;
    const patchReport: Report = (field, message, atKey) => report(['patch', ...field], message, atKey);
    if (reportSchemaErrors(schemas().topology, { ...parsed, value: patched }, patchReport)) validateTopology(patched, patchReport);
    rememberNotSimulated(patched, notSimulatedIn(topology));
    topology = patched;
  }
  if (topology) rememberNotSimulated(topology, notSimulated);
  if (schemaOk) validateScenario(document, topology, report);

  if (issues.length > 0 || !topology) throw new ScenarioFileError(file, sortIssues(issues));
  return {
    file,
    name: document.name ?? path.basename(file, path.extname(file)),
    ...(document.description !== undefined && { description: document.description }),
    topology,
    ...(topologyFile !== undefined && { topologyFile }),
    messages: document.messages.map(toMessageSpec),
    ...(document.advance !== undefined && { advanceMs: parseDuration(document.advance)! }),
    ...(document.steps !== undefined && { steps: document.steps.map(toStep) }),
    expect: document.expect,
  };
}

const SKIPPED_FOLDERS = new Set(['topologies', 'plans', 'postfix']);

/**
 * Scenario files under `paths` (files or folders), sorted. Folders are walked recursively;
 * `topologies`, `plans` and `postfix` folders (unless named themselves), `_`-prefixed files and hidden entries are skipped. A file named
 * explicitly is always included.
 */
export function discoverScenarioFiles(paths: string[]): string[] {
  const found = new Set<string>();
  const visited = new Set<string>();
  const walk = (dir: string): void => {
    const real = fs.realpathSync(dir);
    if (visited.has(real)) return; // a symlink loop would otherwise recurse forever
    visited.add(real);
    for (const entry of fs.readdirSync(dir)) {
      if (entry.startsWith('.')) continue;
      const full = path.join(dir, entry);
      const stat = fs.statSync(full);
      if (stat.isDirectory()) {
        // Change plans (relaylab rehearse) are not scenarios; scenarios that need Debian's postfix run
        // when their folder is named, so `relaylab run scenarios/` works on a machine without it.
        if (!SKIPPED_FOLDERS.has(entry)) walk(full);
      } else if (stat.isFile() && !entry.startsWith('_') && /\.ya?ml$/i.test(entry)) {
        found.add(full);
      }
    }
  };
  for (const p of paths) {
    if (!fs.existsSync(p)) throw new Error(`scenario path not found: ${p}`);
    if (fs.statSync(p).isDirectory()) walk(p);
    else found.add(path.normalize(p));
  }
  return [...found].sort();
}

/** Loads every scenario under `paths`; a bad file is reported in `errors` and does not stop the rest. */
export function loadScenarios(paths: string[]): { scenarios: Scenario[]; errors: ScenarioFileError[] } {
  const scenarios: Scenario[] = [];
  const errors: ScenarioFileError[] = [];
  for (const file of discoverScenarioFiles(paths)) {
    try {
      scenarios.push(loadScenarioFile(file));
    } catch (error) {
      if (!(error instanceof ScenarioFileError)) throw error;
      errors.push(error);
    }
  }
  return { scenarios, errors };
}

/**
 * RFC 7396 merge patch: mappings merge key by key, lists and values replace, null removes. One
 * topology file then serves a family of scenarios that differ in a rule or a connector. Connector
 * lists and transportRules also take `{ merge, remove }` by Name (see named-list-patch.ts).
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const base = target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete base[key];
    else if (isNamedListPatch(key, value)) base[key] = patchNamedList(base[key], value, mergePatch);
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}

/** `- advance: 3h` → `{ kind: 'advance', ms, text }`; the schema has made sure of the shape. */
function toStep(step: StepDocument): Step {
  if (step === 'settle') return { kind: 'settle' };
  const [kind, value] = Object.entries(step)[0] as [string, unknown];
  switch (kind) {
    case 'settle':
      return { kind: 'settle' };
    case 'send':
      return { kind: 'send', message: value as string };
    case 'advance':
      return { kind: 'advance', ms: parseDuration(value as string)!, text: value as string };
    case 'down':
    case 'up':
    case 'heal':
      return { kind, node: value as string };
    default:
      return { kind, ...(value as object) } as Step;
  }
}

function toMessageSpec(message: MessageDocument): MessageSpec {
  return { ...message, to: typeof message.to === 'string' ? [message.to] : message.to };
}

/**
 * The file that a scenario's `topology:` or a topology's `extends:` names: relative to the file
 * that names it (or absolute), and only a YAML file, so that a scenario from elsewhere cannot
 * make the loader read, and its errors show, whatever file it likes.
 */
export function referencedFile(from: string, written: string, field: FieldPath, report: Report): string | undefined {
  if (!/\.ya?ml$/i.test(written)) {
    report(field, `expected a path to a .yaml or .yml topology file; found ${JSON.stringify(written)}`);
    return undefined;
  }
  const target = path.isAbsolute(written) ? written : path.join(path.dirname(from), written);
  if (!isFile(target)) {
    report(field, `topology file not found: ${target}`);
    return undefined;
  }
  return target;
}

const TOPOLOGY_KEYS = ['nodes', 'extends'];

/**
 * Why `value` is not a topology at all, or undefined when it looks like one (it has `nodes` or
 * `extends`, or a near miss of them). Said without any of the file's content: a file that is
 * not a topology may be anything, and the error must not become a way to read it.
 */
function notATopology(value: unknown): string | undefined {
  const found =
    value === null || value === undefined
      ? 'an empty file'
      : Array.isArray(value)
        ? 'a list'
        : typeof value !== 'object'
          ? 'a single value'
          : Object.keys(value).some((k) => TOPOLOGY_KEYS.includes(k) || didYouMean(k, TOPOLOGY_KEYS))
            ? undefined
            : 'a mapping without either';
  return found && `expected a relaylab topology (a mapping with "nodes" or "extends" at its top level); found ${found} (its content is not shown)`;
}

/**
 * `refer` reports a file that is not a topology where it was named (a scenario's `topology:`,
 * a topology's `extends:`); without it, the file is named on the command line and the issue
 * points at its first line.
 */
export function checkTopologyFile(file: string, seen: string[] = [], refer?: (message: string) => void): { topology?: Topology; issues: FileIssue[] } {
  const source = readYamlFile(file);
  const issues = [...source.issues];
  if (!source.parsed) return { issues };
  const wrong = notATopology(source.parsed.value);
  if (wrong) {
    if (refer) refer(`${file}: ${wrong}`);
    else issues.push({ file, line: 1, column: 1, field: '(root)', message: wrong });
    return { issues };
  }
  const report = reporter(file, source.parsed, issues);
  const written = source.parsed.value as { extends?: unknown } | null;
  let value: unknown = source.parsed.value;
  let inherited: readonly NotSimulated[] = [];
  if (written && typeof written === 'object' && typeof written.extends === 'string') {
    // `extends: base.yaml` + the rest as a merge patch: one file per topology without copying the base.
    const baseFile = referencedFile(file, written.extends, ['extends'], report);
    if (!baseFile) return { issues: sortIssues(issues) };
    if (seen.includes(baseFile) || baseFile === file) {
      report(['extends'], `topology files extend each other in a loop: ${[...seen, file, baseFile].join(' → ')}`);
      return { issues: sortIssues(issues) };
    }
    const base = checkTopologyFile(baseFile, [...seen, file], (message) => report(['extends'], message));
    if (!base.topology) return { issues: sortIssues([...issues, ...base.issues]) };
    const { extends: _ignored, ...patch } = written as Record<string, unknown>;
    checkNamedListPatches(patch, base.topology, report, []);
    value = mergePatch(base.topology, patch);
    inherited = notSimulatedIn(base.topology);
  }
  const read = readExchangeValues(value, report);
  value = read.value;
  if (reportSchemaErrors(schemas().topology, { ...source.parsed, value }, report)) {
    validateTopology(value as Topology, report);
  }
  if (issues.length > 0) return { issues: sortIssues(issues) };
  rememberNotSimulated(value as Topology, inherited, read.notSimulated);
  return { topology: value as Topology, issues };
}

/** An inline topology and a patch, read as the loader reads a topology file. */
function readScenarioExchangeValues(parsed: ParsedYaml, report: Report): { parsed: ParsedYaml; notSimulated: NotSimulated[] } {
  const document = parsed.value;
  if (document === null || typeof document !== 'object' || Array.isArray(document)) return { parsed, notSimulated: [] };
  const copy = { ...(document as Record<string, unknown>) };
  const notSimulated: NotSimulated[] = [];
  if (copy.topology !== null && typeof copy.topology === 'object') {
    const read = readExchangeValues(copy.topology, report, { at: ['topology'] });
    copy.topology = read.value;
    notSimulated.push(...read.notSimulated);
  }
  if (copy.patch !== null && typeof copy.patch === 'object') {
    const read = readExchangeValues(copy.patch, report, { patch: true, at: ['patch'] });
    copy.patch = read.value;
    notSimulated.push(...read.notSimulated);
  }
  return { parsed: { ...parsed, value: copy }, notSimulated };
}

/** Far above any real scenario or topology; what is larger is not one, and is not read whole. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

export function readYamlFile(file: string): { parsed?: ParsedYaml; issues: FileIssue[] } {
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_FILE_BYTES) {
      return {
        issues: [
          {
            file,
            line: 1,
            column: 1,
            field: '(file)',
            message: `expected a file under ${MAX_FILE_BYTES / 1024 / 1024} MB; found ${(size / 1024 / 1024).toFixed(1)} MB`,
          },
        ],
      };
    }
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    return { issues: [{ file, line: 1, column: 1, field: '(file)', message: `cannot read file: ${(error as Error).message}` }] };
  }
  let parsed: ParsedYaml;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    // The yaml library throws from toJS on what its parser let through (an alias to no anchor,
    // too many aliases): still the file's fault, so still a file error, not a crash.
    return { issues: [{ file, line: 1, column: 1, field: '(yaml)', message: (error as Error).message }] };
  }
  if (parsed.syntaxErrors.length > 0) {
    return { issues: parsed.syntaxErrors.map((e) => ({ file, line: e.line, column: e.column, field: '(yaml)', message: withoutSource(e.message) })) };
  }
  return { parsed, issues: [] };
}

/**
 * The yaml library's message without the piece of the file that two of its messages quote: a
 * file named as a topology may be anything, and its line and column already say where.
 */
function withoutSource(message: string): string {
  return message.replace(/^(Block scalar header includes extra characters|Unresolved tag): .*$/s, '$1');
}

export function reporter(file: string, parsed: ParsedYaml, issues: FileIssue[]): Report {
  return (field, message, atKey) => {
    const { line, column } = positionOf(parsed, field, atKey);
    const issue = { file, line, column, field: formatFieldPath(field), message };
    if (!issues.some((i) => i.line === line && i.field === issue.field && i.message === message)) issues.push(issue);
  };
}

/** By position, keeping each file's issues together in the order the files came up. */
export function sortIssues(issues: FileIssue[]): FileIssue[] {
  const files = [...new Set(issues.map((i) => i.file))];
  return [...issues].sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file) || a.line - b.line || a.column - b.column);
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

let compiled: { topology: ValidateFunction; scenario: ValidateFunction } | undefined;

/**
 * Compiled on first use, each on its own: compiling is most of the start-up of a process that
 * loads only a topology (`relaylab node`, one per node), which needs no scenario validator.
 */
function schemas(): { topology: ValidateFunction; readonly scenario: ValidateFunction } {
  if (compiled) return compiled;
  // The schemas live at the repository root for editors (yaml-language-server); `npm pack` copies
  // them into the package (see its prepack script), which is where an installed package finds them.
  const dir = [path.resolve(__dirname, '../schemas'), path.resolve(__dirname, '../../../schemas')].find((d) => isFile(path.join(d, 'scenario.schema.json')));
  if (!dir) throw new Error(`relaylab: the JSON schemas are missing from ${path.resolve(__dirname, '../schemas')}; reinstall @relaylab/lab`);
  const read = (name: string): object => JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as object;
  // verbose: error objects carry their schema, whose `properties` and `title` make better messages.
  // Unoptimised, refs not inlined: compiles in about half the time (each node process compiles
  // the topology schema as it starts) and validates a file of a few kB no slower that matters.
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true, code: { optimize: false }, inlineRefs: false });
  // The scenario schema refers to the topology schema by file name, as an editor resolves it.
  ajv.addSchema(read('topology.schema.json'), 'topology.schema.json');
  let scenario: ValidateFunction | undefined;
  compiled = {
    topology: ajv.getSchema('topology.schema.json') as ValidateFunction,
    get scenario() {
      return (scenario ??= ajv.compile(read('scenario.schema.json')));
    },
  };
  return compiled;
}

/** Reports schema errors in readable form; true when there were none. */
export function reportSchemaErrors(validate: ValidateFunction, parsed: ParsedYaml, report: Report): boolean {
  if (validate(parsed.value)) return true;
  const typeErrorAt = new Set<string>();
  for (const error of validate.errors ?? []) {
    // `if` and `propertyNames` only summarise the errors reported beside them.
    if (error.keyword === 'if' || error.keyword === 'propertyNames') continue;
    // A union type (string or mapping) also fails its `else` branch's type; the first says more.
    if (error.keyword === 'type') {
      if (typeErrorAt.has(error.instancePath)) continue;
      typeErrorAt.add(error.instancePath);
    }
    const at = pointerToPath(error.instancePath, parsed.value);
    const { field, message, atKey } = describeSchemaError(error, at);
    report(field, message, atKey);
  }
  return false;
}

const NOT_SIMULATED_NAMES = [...new Set([...READ_ONLY_PROPERTIES, ...Object.values(TOPOLOGY_OBJECT_PROPERTIES).flatMap((p) => p.notSimulated)])];

function describeSchemaError(error: ErrorObject, at: FieldPath): { field: FieldPath; message: string; atKey?: boolean } {
  const params = error.params as Record<string, unknown>;
  const parent = (typeof error.parentSchema === 'object' ? error.parentSchema : {}) as {
    title?: string;
    properties?: Record<string, unknown>;
  };
  const found = at.length === 0 && error.data == null ? 'found an empty file' : `found ${describeValue(error.data)}`;
  switch (error.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const allowed = Object.keys(parent.properties ?? {});
      // A connector or rule also takes the cmdlet properties the lab does not simulate, so a typo of one is suggested too.
      const suggestion = didYouMean(name, allowed) ?? (allowed.includes('Name') ? didYouMean(name, NOT_SIMULATED_NAMES) : undefined);
      const hint = suggestion ? ` (did you mean "${suggestion}"?)` : `; expected one of ${allowed.join(', ')}`;
      return { field: [...at, name], message: `unknown field "${name}"${hint}`, atKey: true };
    }
    case 'required':
      return { field: [...at, String(params.missingProperty)], message: `missing required field "${String(params.missingProperty)}"` };
    case 'type':
      return { field: at, message: `expected ${describeTypes(params.type)}; ${found}` };
    case 'enum': {
      const allowed = params.allowedValues as unknown[];
      const strings = allowed.filter((v): v is string => typeof v === 'string');
      const suggestion = typeof error.data === 'string' ? didYouMean(error.data, strings) : undefined;
      const hint = suggestion ? ` (did you mean "${suggestion}"?)` : '';
      return { field: at, message: `expected one of ${allowed.map((v) => (v === null ? 'null' : String(v))).join(', ')}; ${found}${hint}` };
    }
    case 'pattern': {
      const expected = parent.title ?? `a string matching ${String(params.pattern)}`;
      if (error.propertyName !== undefined) {
        return { field: [...at, error.propertyName], message: `expected ${expected}; found ${JSON.stringify(error.propertyName)}`, atKey: true };
      }
      return { field: at, message: `expected ${expected}; ${found}` };
    }
    case 'minLength':
      return { field: at, message: `expected a non-empty string; ${found}` };
    case 'minItems':
      return { field: at, message: `expected at least ${plural(Number(params.limit), 'item')}; found ${plural((error.data as unknown[]).length, 'item')}` };
    case 'maxProperties':
      return {
        field: at,
        message: `a step does one thing; found ${plural(Object.keys(error.data as object).length, 'field')} (${Object.keys(error.data as object).join(', ')}): write them as separate steps`,
      };
    case 'minProperties':
      return { field: at, message: `expected at least ${plural(Number(params.limit), 'entry', 'entries')}; found none` };
    case 'minimum':
    case 'maximum':
      return { field: at, message: `expected a number ${params.comparison} ${String(params.limit)}; ${found}` };
    case 'false schema': {
      // Only `dependencies` use false schemas: this field cannot appear beside another one.
      const other = /\/dependencies\/([^/]+)\//.exec(error.schemaPath)?.[1];
      const message = other ? `cannot be used together with "${other}"` : 'field not allowed here';
      return { field: at, message: `${message}; ${found}`, atKey: true };
    }
    default:
      return { field: at, message: `${error.message ?? 'invalid'}; ${found}` };
  }
}

function describeTypes(type: unknown): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'true or false',
    null: 'null',
  };
  return (Array.isArray(type) ? type : [type]).map((t) => names[String(t)] ?? String(t)).join(' or ');
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return value.length === 0 ? 'an empty list' : 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  return String(value);
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
