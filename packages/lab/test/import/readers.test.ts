import { parseCsv, readCsvExport } from '../../src/import/read-csv';
import { readJsonExport } from '../../src/import/read-json';

/** docs/exchange.md, "What administrators export": the shapes ConvertTo-Json and Export-Csv write. */

describe('ConvertTo-Json output', () => {
  test('Windows PowerShell 5.1: a single object bare, a BOM, \\/Date()\\/ dates', () => {
    const text = '\uFEFF{\r\n    "Name":  "Hybrid Configuration",\r\n    "WhenChanged":  "\\/Date(1772442900000)\\/",\r\n    "ServiceInstance":  0\r\n}\r\n';
    const read = readJsonExport(text);
    expect(read.format).toBe('json (Windows PowerShell 5.1)');
    expect(read.records).toEqual([{ Name: 'Hybrid Configuration', WhenChanged: '2026-03-02T09:15:00.000Z', ServiceInstance: 0 }]);
  });

  test('PowerShell 7: an array, ISO dates kept as written, nested values kept', () => {
    const read = readJsonExport('[{"Name":"A","WhenChanged":"2026-03-02T10:04:31+00:00","SenderDomains":["smtp:litware.example;1"]},{"Name":"B"}]');
    expect(read.format).toBe('json (PowerShell 7)');
    expect(read.records.map((r) => r.Name)).toEqual(['A', 'B']);
    expect(read.records[0]!.SenderDomains).toEqual(['smtp:litware.example;1']);
    expect(read.records[0]!.WhenChanged).toBe('2026-03-02T10:04:31+00:00');
  });

  test('what is not a list of objects is refused', () => {
    expect(() => readJsonExport('[1, 2]')).toThrow('item 1 is not an object');
    expect(() => readJsonExport('{"Name": ')).toThrow();
  });
});

describe('Export-Csv output', () => {
  test('Windows PowerShell 5.1: the #TYPE line names the type; empty unquoted cells are null', () => {
    const text = [
      '#TYPE Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomain',
      '"DomainName","Default","CatchAllRecipientID","Comment"',
      '"fabrikam.example","True",,""',
      '',
    ].join('\r\n');
    const read = readCsvExport(text);
    expect(read.format).toBe('csv (Windows PowerShell 5.1)');
    expect(read.typeName).toBe('Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.AcceptedDomain');
    expect(read.records).toEqual([{ DomainName: 'fabrikam.example', Default: 'True', CatchAllRecipientID: null, Comment: '' }]);
  });

  test('PowerShell 7: no #TYPE; quotes, doubled quotes, commas and line breaks inside values', () => {
    const read = readCsvExport('"Name","Description"\n"Rule, one","If the message:\n\tsays ""hi"""\n');
    expect(read.format).toBe('csv (PowerShell 7)');
    expect(read.records).toEqual([{ Name: 'Rule, one', Description: 'If the message:\n\tsays "hi"' }]);
  });

  test('a row whose count of values differs from the header is an error, not a shifted object', () => {
    expect(() => readCsvExport('"A","B"\n"1"\n')).toThrow('row 2 has 1 values; the header has 2');
    expect(() => parseCsv('"open')).toThrow('a quoted value is not closed');
  });
});
