/**
 * `ConvertTo-Json` output. Windows PowerShell 5.1 writes one object bare (not in an array),
 * dates as `\/Date(ms)\/` and some enums as numbers; PowerShell 7 writes ISO dates and, with
 * the Exchange Online module, enums as names. Both read to plain objects; dates become ISO text.
 */
export type ExportFormat = 'json (Windows PowerShell 5.1)' | 'json (PowerShell 7)' | 'csv (Windows PowerShell 5.1)' | 'csv (PowerShell 7)' | 'clixml';

export interface ExportedRecords {
  format: ExportFormat;
  /** The .NET type named by Export-Csv's `#TYPE` line (Windows PowerShell 5.1), if any. */
  typeName?: string;
  records: Array<Record<string, unknown>>;
}

/** ConvertTo-Json writes at most -Depth 100: deeper is not an export (and would exhaust the stack). */
export const MAX_DEPTH = 100;

export function readJsonExport(text: string): ExportedRecords {
  const body = text.replace(/^\uFEFF/, '');
  // A cmdlet that found nothing gives ConvertTo-Json nothing: it writes an empty file (or `null`).
  if (body.trim() === '' || body.trim() === 'null') return { format: 'json (PowerShell 7)', records: [] };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw new Error(`not valid JSON: ${withLineAndColumn(body, (e as Error).message)}`);
  }
  const legacy = /\\\/Date\(-?\d+\)\\\//.test(body) || /":  /.test(body);
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const records = list.map((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new Error(`item ${i + 1} is not an object`);
    return withDates(item, 1, `item ${i + 1}`) as Record<string, unknown>;
  });
  return { format: legacy ? 'json (Windows PowerShell 5.1)' : 'json (PowerShell 7)', records };
}

/** `/Date(1772442900000)/` → ISO 8601. `where` names the value for an error. */
function withDates(value: unknown, depth: number, where: string): unknown {
  if (typeof value === 'string') {
    const m = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(value);
    const date = m ? new Date(Number(m[1])) : undefined;
    return date && !Number.isNaN(date.getTime()) ? date.toISOString() : value;
  }
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH)
    throw new Error(
      `${where.length > 60 ? `${where.slice(0, 60)}…` : where} is nested deeper than ${MAX_DEPTH} levels (ConvertTo-Json -Depth writes at most ${MAX_DEPTH})`,
    );
  if (Array.isArray(value)) return value.map((v, i) => withDates(v, depth + 1, `${where}[${i}]`));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withDates(v, depth + 1, `${where}.${k}`)]));
}

/** V8's "… at position 1234" → "… at line 40, column 7", which an editor can go to. */
function withLineAndColumn(text: string, message: string): string {
  const m = /at position (\d+)/.exec(message);
  if (!m) return /end of JSON input/.test(message) ? `${message} (the file ends early: was the export cut off?)` : message;
  const position = Number(m[1]);
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - before.lastIndexOf('\n');
  return `${message.replace(/ *\(line \d+ column \d+\)/, '').replace(/at position \d+/, `at line ${line}, column ${column}`)}`;
}
