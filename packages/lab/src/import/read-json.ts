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

export function readJsonExport(text: string): ExportedRecords {
  const body = text.replace(/^\uFEFF/, '');
  const parsed: unknown = JSON.parse(body);
  const legacy = /\\\/Date\(-?\d+\)\\\//.test(body) || /":  /.test(body);
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const records = list.map((item, i) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) throw new Error(`item ${i + 1} is not an object`);
    return withDates(item) as Record<string, unknown>;
  });
  return { format: legacy ? 'json (Windows PowerShell 5.1)' : 'json (PowerShell 7)', records };
}

/** `/Date(1772442900000)/` → ISO 8601. */
function withDates(value: unknown): unknown {
  if (typeof value === 'string') {
    const m = /^\/Date\((-?\d+)(?:[+-]\d{4})?\)\/$/.exec(value);
    return m ? new Date(Number(m[1])).toISOString() : value;
  }
  if (Array.isArray(value)) return value.map(withDates);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withDates(v)]));
  return value;
}
