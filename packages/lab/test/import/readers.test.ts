import { decodeText } from '../../src/import/exports';
import { readClixmlExport } from '../../src/import/read-clixml';
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

describe('Export-Clixml output', () => {
  const CLIXML = `<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">
  <Obj RefId="0">
    <TN RefId="0"><T>Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig</T><T>Deserialized.System.Object</T></TN>
    <ToString>Internet</ToString>
    <Props>
      <S N="Name">Internet</S>
      <Obj N="AddressSpaces" RefId="1"><TN RefId="1"><T>Deserialized.Microsoft.Exchange.Data.MultiValuedProperty\`1[[Microsoft.Exchange.Data.AddressSpace]]</T></TN><LST><S>SMTP:*;1</S></LST></Obj>
      <B N="DNSRoutingEnabled">true</B>
      <I32 N="Port">25</I32>
      <Nil N="TlsDomain" />
      <Obj N="TlsAuthLevel" RefId="2"><TN RefId="2"><T>Deserialized.Microsoft.Exchange.Data.TlsAuthLevel</T><T>System.Enum</T></TN><ToString>DomainValidation</ToString><I32>2</I32></Obj>
      <Obj N="MaxMessageSize" RefId="3"><TN RefId="3"><T>Deserialized.Microsoft.Exchange.Data.ByteQuantifiedSize</T></TN><ToString>35 MB (36,700,160 bytes)</ToString><Props><U64 N="Value">36700160</U64></Props></Obj>
      <TS N="ConnectionInactivityTimeOut">PT10M</TS>
      <Ref N="AddressSpacesAgain" RefId="1" />
      <S N="Comment">line one_x000D__x000A_&lt;two&gt; &amp; three</S>
      <DT N="WhenChanged">2026-03-02T09:56:00+01:00</DT>
    </Props>
    <MS><S N="PSComputerName">ex01.corp.fabrikam.example</S></MS>
  </Obj>
</Objs>`;

  test('enums by name, sizes as Exchange prints them, lists, time spans, references, escapes', () => {
    const read = readClixmlExport(CLIXML);
    expect(read.format).toBe('clixml');
    expect(read.typeName).toBe('Deserialized.Microsoft.Exchange.Data.Directory.SystemConfiguration.SmtpSendConnectorConfig');
    expect(read.records).toEqual([
      {
        Name: 'Internet',
        AddressSpaces: ['SMTP:*;1'],
        DNSRoutingEnabled: true,
        Port: 25,
        TlsDomain: null,
        TlsAuthLevel: 'DomainValidation',
        MaxMessageSize: '35 MB (36,700,160 bytes)',
        ConnectionInactivityTimeOut: '00:10:00',
        AddressSpacesAgain: ['SMTP:*;1'],
        Comment: 'line one\r\n<two> & three',
        WhenChanged: '2026-03-02T09:56:00+01:00',
        PSComputerName: 'ex01.corp.fabrikam.example',
      },
    ]);
  });

  test('UTF-16 with a BOM, as Windows PowerShell 5.1 writes Export-Clixml and > redirection', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(CLIXML, 'utf16le')]);
    expect(readClixmlExport(decodeText(bytes)).records[0]!.Name).toBe('Internet');
    expect(decodeText(Buffer.from('\uFEFF[]', 'utf8'))).toBe('[]');
  });

  test('what is not Export-Clixml, or not well formed, is refused', () => {
    expect(() => readClixmlExport('<Objects/>')).toThrow('expected <Objs> (Export-Clixml); found <Objects>');
    expect(() => readClixmlExport('<Objs><Obj></Objs>')).toThrow('</Objs> closes <Obj>');
    expect(() => readClixmlExport('<Objs><Obj>')).toThrow('<Obj> is not closed');
  });
});
