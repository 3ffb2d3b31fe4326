import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeText, exportFiles, MAX_ENTRIES_WALKED, MAX_EXPORT_FILES, readExports } from '../../src/import/exports';
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
    expect(() => readCsvExport('"A","B"\n"1"\n')).toThrow('line 2: the row has 1 values; the header has 2');
    expect(() => parseCsv('"open')).toThrow('line 1: a quoted value is not closed');
  });

  test('errors name the line in the file, counting the #TYPE line and line breaks inside values', () => {
    const text = '#TYPE X\r\n"A","B"\r\n"multi\r\nline","2"\r\n"3"\r\n';
    expect(() => readCsvExport(text)).toThrow('line 5: the row has 1 values; the header has 2');
    expect(() => readCsvExport('"A","B"\n"1","2"\n"x,y\n')).toThrow('line 3: a quoted value is not closed');
    expect(() => readCsvExport('"A","B"\n"1"x,"2"\n')).toThrow('line 2: text after a closing quote');
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

  test('a CSV in the ANSI code page (Export-Csv -Encoding Default) reads as Windows-1252, not as U+FFFD', () => {
    const bytes = Buffer.concat([
      Buffer.from('"Name","Comment"\r\n"Relay","M'),
      Buffer.from([0xfc]),
      Buffer.from('ller '),
      Buffer.from([0x80]),
      Buffer.from('"\r\n'),
    ]);
    expect(readCsvExport(decodeText(bytes)).records).toEqual([{ Name: 'Relay', Comment: 'Müller €' }]);
    expect(decodeText(Buffer.from('"Müller"', 'utf8'))).toBe('"Müller"');
  });

  test('what is not Export-Clixml, or not well formed, is refused', () => {
    expect(() => readClixmlExport('<Objects/>')).toThrow('expected <Objs> (Export-Clixml); found <Objects>');
    expect(() => readClixmlExport('<Objs><Obj></Objs>')).toThrow('</Objs> closes <Obj>');
    expect(() => readClixmlExport('<Objs><Obj>')).toThrow('<Obj> is not closed');
  });
});

describe('hostile exports: a clear error naming the file and where, never a crash or a hang', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'relaylab-import-hostile-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, content: string | Buffer) => {
    const file = path.join(dir, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  };

  test('a cut-off or malformed JSON file is refused with its line and column, not skipped', () => {
    write('Get-AcceptedDomain.json', '[{"DomainName":"a.example","DomainType":"Authoritative"}]');
    const bad = write('Get-InboundConnector.json', '[\n  {\n    "Name": "x",\n    oops\n  }\n]');
    expect(() => readExports([dir])).toThrow(`cannot read ${bad}: not valid JSON:`);
    expect(() => readExports([dir])).toThrow(/at line 4, column 5/);
    write('Get-InboundConnector.json', '[{"Name": ');
    expect(() => readExports([dir])).toThrow(/the file ends early/);
  });

  test('an empty export (the cmdlet found nothing) holds no objects: not an error', () => {
    write('exchange-online/Get-TransportRule.json', '');
    write('exchange-online/Get-OutboundConnector.json', '\uFEFF\r\n');
    write('on-premises/Get-RemoteDomain.csv', '');
    write('on-premises/Get-TransportRule.xml', '<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04" />');
    expect(readExports([dir])).toEqual({ objects: [], unread: [] });
  });

  test('binary data, JSON nested past ConvertTo-Json -Depth, and a Clixml DTD are refused', () => {
    const bin = write('Get-SendConnector.json', Buffer.from([0x7b, 0x00, 0x01, 0xff, 0x22]));
    expect(() => readExports([bin])).toThrow(`cannot read ${bin}: a NUL character at line 1: binary data, or UTF-16 without its byte order mark`);
    const deep = write('deep.json', `${'{"a":'.repeat(20000)}1${'}'.repeat(20000)}`);
    expect(() => readExports([deep])).toThrow(/nested deeper than 100 levels/);
    expect(() => readJsonExport(`[${'['.repeat(150)}${']'.repeat(150)}]`)).toThrow('item 1 is not an object');
    const bomb = write(
      'Get-TransportRule.xml',
      '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>\n<Objs><Obj><MS><S N="Name">&lol2;</S></MS></Obj></Objs>',
    );
    expect(() => readExports([bomb])).toThrow('line 2: a <!DOCTYPE> (entity declarations) is not Export-Clixml output; refused');
    const nested = `<Objs>${'<Obj><LST>'.repeat(5000)}${'</LST></Obj>'.repeat(5000)}</Objs>`;
    expect(() => readClixmlExport(nested)).toThrow(/nested deeper than 100 levels/);
    expect(readClixmlExport('<Objs><Obj><MS><S N="Name">&#x110000;x</S></MS></Obj></Objs>').records).toEqual([{ Name: '\uFFFDx' }]);
  });

  test('a Clixml reference bomb (lists of <Ref> to lists of <Ref>) is refused before it expands', () => {
    let xml = '<Objs><Obj RefId="0"><Props><S N="Name">Bomb</S><Obj N="L0" RefId="100"><LST><S>10.0.0.1</S><S>10.0.0.2</S></LST></Obj>';
    for (let i = 1; i < 40; i++) xml += `<Obj N="L${i}" RefId="${100 + i}"><LST><Ref RefId="${99 + i}"/><Ref RefId="${99 + i}"/></LST></Obj>`;
    xml += '</Props></Obj></Objs>';
    expect(() => readClixmlExport(xml)).toThrow(/more than 5000000 values once its <Ref> elements are followed/);
    const fine = readClixmlExport('<Objs><Obj RefId="0"><Props><Obj N="A" RefId="1"><LST><S>x</S></LST></Obj><Ref N="B" RefId="1"/></Props></Obj></Objs>');
    expect(fine.records).toEqual([{ A: ['x'], B: ['x'] }]);
  });

  test('a symbolic link back up the tree is walked once, a dangling one ignored', () => {
    write('on-premises/Get-AcceptedDomain.json', '[{"DomainName":"a.example","DomainType":"Authoritative"}]');
    fs.symlinkSync('..', path.join(dir, 'on-premises', 'up'));
    fs.symlinkSync(path.join(dir, 'on-premises'), path.join(dir, 'again'));
    fs.symlinkSync(path.join(dir, 'gone.json'), path.join(dir, 'on-premises', 'Get-Dangling.json'));
    expect(exportFiles([dir])).toEqual([path.join(dir, 'again', 'Get-AcceptedDomain.json')]);
  });

  test('only folders from the one named down tell the side: a parent folder called cloud-migration does not', () => {
    const exports = path.join(dir, 'cloud-migration', 'exports');
    const connector = JSON.stringify({ Name: 'Internet', Identity: 'Internet', AddressSpaces: ['SMTP:*;1'] });
    write('cloud-migration/exports/Get-SendConnector.json', connector);
    write('cloud-migration/exports/exchange-online/Get-AcceptedDomain.json', '[{"DomainName":"a.example","DomainType":"Authoritative"}]');
    const sides = (paths: string[]) => readExports(paths).objects.map((o) => `${o.cmdlet} ${o.side}`);
    expect(sides([exports])).toEqual(['Get-SendConnector on-premises', 'Get-AcceptedDomain exchange-online']);
    expect(sides([path.join(exports, 'exchange-online')])).toEqual(['Get-AcceptedDomain exchange-online']);
    expect(sides([path.join(exports, 'exchange-online', 'Get-AcceptedDomain.json')])).toEqual(['Get-AcceptedDomain exchange-online']);
  });

  test('a named pipe is refused by name, not read until it ends (which may be never)', () => {
    const fifo = path.join(dir, 'Get-InboundConnector.json');
    execFileSync('mkfifo', [fifo]);
    expect(() => exportFiles([fifo])).toThrow(`${fifo}: not a file or a folder (a pipe or a device)`);
    expect(exportFiles([dir])).toEqual([]);
    expect(() => exportFiles(['/dev/null'])).toThrow('/dev/null: not a file or a folder');
  });

  test('a folder with more files than an export holds is refused, not read; so is a walk of the whole disk', () => {
    for (let i = 0; i <= MAX_EXPORT_FILES; i++) write(`f${i}.json`, '[]');
    expect(() => exportFiles([dir])).toThrow(`more than ${MAX_EXPORT_FILES} .json, .csv and .xml files under ${dir}`);
    expect(() => exportFiles(['/usr'])).toThrow(
      new RegExp(`more than (${MAX_ENTRIES_WALKED} entries|${MAX_EXPORT_FILES} .json, .csv and .xml files) under /usr`),
    );
  });
});
