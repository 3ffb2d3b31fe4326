/**
 * `Export-Csv` output: an optional `#TYPE <type>` first line (Windows PowerShell 5.1 writes it
 * unless told -NoTypeInformation), a header row, quoted values. Every value is text; an empty
 * unquoted cell is null (PowerShell writes null so). Multi-valued properties arrive as one string
 * (space-joined for deserialized collections) or as a type name when the values were lost; the
 * mapping reads them with the value kinds of core's exchange-properties.ts.
 */
import type { ExportedRecords } from './read-json';

export function readCsvExport(text: string): ExportedRecords {
  let body = text.replace(/^\uFEFF/, '');
  // Export-Csv given no objects writes an empty file.
  if (body.trim() === '') return { format: 'csv (PowerShell 7)', records: [] };
  let typeName: string | undefined;
  const typeLine = /^#TYPE ([^\r\n]*)\r?\n/.exec(body);
  if (typeLine) {
    typeName = typeLine[1]!.trim();
    body = body.slice(typeLine[0].length);
  }
  const lines: number[] = [];
  const offset = typeLine ? 1 : 0;
  const rows = parseCsv(body, lines);
  const header = rows.shift();
  lines.shift();
  if (!header) throw new Error('no header row');
  const names = header.map((h) => h ?? '');
  const records = rows
    .map((row, i) => ({ row, line: lines[i]! + offset }))
    .filter(({ row }) => !(row.length === 1 && (row[0] === null || row[0] === '')))
    .map(({ row, line }) => {
      if (row.length !== names.length) throw new Error(`line ${line}: the row has ${row.length} values; the header has ${names.length}`);
      return Object.fromEntries(names.map((name, j) => [name, row[j] ?? null]));
    });
  return { format: typeLine ? 'csv (Windows PowerShell 5.1)' : 'csv (PowerShell 7)', ...(typeName !== undefined && { typeName }), records };
}

/**
 * RFC 4180 with `""` escapes and line breaks inside quotes; null for an empty unquoted cell.
 * `lines`, when given, receives the line (from 1) each row starts on, for errors.
 */
export function parseCsv(text: string, lines: number[] = []): Array<Array<string | null>> {
  const rows: Array<Array<string | null>> = [];
  let row: Array<string | null> = [];
  let i = 0;
  let line = 1;
  let rowLine = 1;
  const n = text.length;
  while (i < n) {
    let cell: string | null;
    if (text[i] === '"') {
      const opened = line;
      let value = '';
      i++;
      for (;;) {
        if (i >= n) throw new Error(`line ${opened}: a quoted value is not closed`);
        if (text[i] === '\n') line++;
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      cell = value;
      if (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n')
        throw new Error(`line ${line}: text after a closing quote (a quote inside a value is written "")`);
    } else {
      let end = i;
      while (end < n && text[end] !== ',' && text[end] !== '\n' && text[end] !== '\r') end++;
      const raw = text.slice(i, end);
      cell = raw === '' ? null : raw;
      i = end;
    }
    row.push(cell);
    if (text[i] === ',') {
      i++;
      if (i === n) row.push(null);
      continue;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') {
      i++;
      line++;
    }
    rows.push(row);
    lines.push(rowLine);
    rowLine = line;
    row = [];
  }
  if (row.length > 0) {
    rows.push(row);
    lines.push(rowLine);
  }
  return rows;
}
