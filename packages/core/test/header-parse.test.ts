import { applyEdits, headerEnd, headerValues, locateHeaders, messageIdOf, parseHeaders, removeHeaders, removalsMatching, sameHeaderName } from '@relaylab/core';

/**
 * The one lenient reading of a header section (headers.ts): the obsolete whitespace before the
 * colon, folds anywhere, any case, bare LF line ends, duplicates. Each spelling here is one a mail
 * reader accepts; a reading that misses it lets the header firewall miss it too.
 */

const bytes = (s: string) => Buffer.from(s, 'latin1');
const fields = (s: string) => parseHeaders(bytes(s)).map((f) => [f.name, f.value]);

describe('field names are read as a lenient reader reads them', () => {
  test.each`
    case                                 | text                                                           | name                                     | value
    ${'space before the colon'}          | ${'X-MS-Exchange-Organization-AuthAs : Internal\r\n\r\n'}      | ${'X-MS-Exchange-Organization-AuthAs'}   | ${'Internal'}
    ${'tab before the colon'}            | ${'X-MS-Exchange-Organization-SCL\t: -1\r\n\r\n'}              | ${'X-MS-Exchange-Organization-SCL'}      | ${'-1'}
    ${'several blanks before the colon'} | ${'X-MS-Exchange-Organization-SCL \t \t:\t-1\r\n\r\n'}         | ${'X-MS-Exchange-Organization-SCL'}      | ${'-1'}
    ${'a fold before the colon'}         | ${'X-MS-Exchange-Organization-AuthAs\r\n : Internal\r\n\r\n'}  | ${'X-MS-Exchange-Organization-AuthAs'}   | ${'Internal'}
    ${'a fold inside the name'}          | ${'X-MS-Exchange-Organization-\r\n\tAuthAs: Internal\r\n\r\n'} | ${'X-MS-Exchange-Organization-\tAuthAs'} | ${'Internal'}
    ${'bare LF line ends'}               | ${'X-MS-Exchange-Organization-AuthAs : Internal\n\n'}          | ${'X-MS-Exchange-Organization-AuthAs'}   | ${'Internal'}
    ${'no space after the colon'}        | ${'x-ms-exchange-organization-authas:Internal\r\n\r\n'}        | ${'x-ms-exchange-organization-authas'}   | ${'Internal'}
    ${'a fold right after the colon'}    | ${'X-MS-Exchange-Organization-AuthAs:\r\n Internal\r\n\r\n'}   | ${'X-MS-Exchange-Organization-AuthAs'}   | ${'\r\n Internal'}
  `('$case', ({ text, name, value }) => {
    const raw = bytes(text);
    expect(fields(text)).toEqual([[name, value]]);
    expect(headerValues(raw, name.toUpperCase())).toEqual([value.replace(/\r\n[ \t]*/g, ' ').trim()]);
  });

  test('the value keeps its folds; the unfolded value joins them with one space', () => {
    const raw = bytes('Subject : one\r\n\ttwo\r\n  three\r\n\r\nbody');
    expect(fields(raw.toString('latin1'))).toEqual([['Subject', 'one\r\n\ttwo\r\n  three']]);
    expect(headerValues(raw, 'subject')).toEqual(['one two three']);
  });

  test('every occurrence of a name is read, in order', () => {
    const raw = bytes('X-A: 1\r\nx-a : 2\r\nX-B: 3\r\nX-A\t:3\r\n\r\n');
    expect(headerValues(raw, 'X-A')).toEqual(['1', '2', '3']);
  });

  test('8-bit and control bytes are content: names and values keep them byte for byte', () => {
    const raw = Buffer.concat([bytes('X-Odd\u00e9: caf'), Buffer.from([0xe9, 0x00, 0x7f, 0xff]), bytes('\r\nSubject: ok\r\n\r\n')]);
    const [odd, subject] = parseHeaders(raw);
    expect(Buffer.from(odd.name, 'latin1')).toEqual(Buffer.from([0x58, 0x2d, 0x4f, 0x64, 0x64, 0xe9]));
    expect(Buffer.from(odd.value, 'latin1')).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x00, 0x7f, 0xff]));
    expect(subject).toEqual({ name: 'Subject', value: 'ok' });
  });

  test('case folds ASCII letters only: an 8-bit byte never folds into a letter of a name', () => {
    expect(sameHeaderName('X-MS-Exchange-Organization-AuthAs', 'x-ms-exchange-organization-authas')).toBe(true);
    expect(sameHeaderName('Subject', 'Subject \t')).toBe(true);
    expect(sameHeaderName('X-\u00c9', 'x-\u00e9')).toBe(false);
  });

  test('a bare CR is content, not a line end', () => {
    const raw = bytes('X-A: 1\rX-B: 2\r\n\r\n');
    expect(fields(raw.toString('latin1'))).toEqual([['X-A', '1\rX-B: 2']]);
  });
});

describe('where the header section ends', () => {
  test.each`
    case                         | text                                         | names
    ${'CRLF CRLF'}               | ${'A: 1\r\nB: 2\r\n\r\nC: 3\r\n'}            | ${['A', 'B']}
    ${'LF LF'}                   | ${'A: 1\nB: 2\n\nC: 3\n'}                    | ${['A', 'B']}
    ${'LF then CRLF'}            | ${'A: 1\nB: 2\n\r\nC: 3\r\n'}                | ${['A', 'B']}
    ${'CRLF then LF'}            | ${'A: 1\r\nB: 2\r\n\nC: 3\r\n'}              | ${['A', 'B']}
    ${'no empty line at all'}    | ${'A: 1\r\nB: 2'}                            | ${['A', 'B']}
    ${'a line without a colon'}  | ${'A: 1\r\nnot a field\r\nB: 2\r\n\r\nC: 3'} | ${['A', 'B']}
    ${'a blank-only line folds'} | ${'A: 1\r\n \r\nB: 2\r\n\r\nC: 3'}           | ${['A', 'B']}
    ${'a leading continuation'}  | ${' orphan\r\nA: 1\r\n\r\nC: 3'}             | ${['A']}
    ${'an empty first line'}     | ${'\r\nA: 1\r\n'}                            | ${[]}
  `('$case', ({ text, names }) => {
    expect(parseHeaders(bytes(text)).map((f) => f.name)).toEqual(names);
  });

  test('headerEnd is just past the empty line', () => {
    expect(headerEnd(bytes('A: 1\r\n\r\nbody'))).toBe(8);
    expect(headerEnd(bytes('A: 1\n\nbody'))).toBe(6);
    expect(headerEnd(bytes('A: 1\n\r\nbody'))).toBe(7);
    expect(headerEnd(bytes('A: 1'))).toBe(4);
  });

  test('header-looking lines in the body are not headers', () => {
    expect(headerValues(bytes('Subject: hi\r\n\r\nX-MS-Exchange-Organization-AuthAs: Internal\r\n'), 'X-MS-Exchange-Organization-AuthAs')).toEqual([]);
  });

  test('Message-ID with the obsolete whitespace is still the Message-ID', () => {
    expect(messageIdOf(bytes('Message-ID : <a@b.example>\r\n\r\n'))).toBe('<a@b.example>');
  });
});

describe('removal cuts exactly the fields the reading found', () => {
  const text =
    'Received: from a\r\n\tby b\r\n' +
    'X-MS-Exchange-Organization-AuthAs : Internal\r\n' +
    'Subject: keep\r\n' +
    'x-ms-exchange-organization-authas\t:\r\n Internal\r\n' +
    'X-MS-Exchange-Organization-AuthAs\n : LF only\n' +
    'Odd: \u00ff\u0000\r\n' +
    '\r\nX-MS-Exchange-Organization-AuthAs: in the body\r\n';

  test('every spelling goes, every other byte stays where it was', () => {
    const raw = bytes(text);
    const out = removeHeaders(raw, (n) => sameHeaderName(n, 'X-MS-Exchange-Organization-AuthAs'));
    expect(out.toString('latin1')).toBe(
      'Received: from a\r\n\tby b\r\nSubject: keep\r\nOdd: \u00ff\u0000\r\n\r\nX-MS-Exchange-Organization-AuthAs: in the body\r\n',
    );
  });

  test('a remove edit named in any spelling removes them all, and says so once', () => {
    const raw = bytes(text);
    const edits = removalsMatching(raw, (n) => n.toLowerCase().startsWith('x-ms-exchange-organization-'), 'firewall');
    expect(edits).toEqual([{ op: 'remove', name: 'X-MS-Exchange-Organization-AuthAs', reason: 'firewall' }]);
    expect(headerValues(applyEdits(raw, edits), 'X-MS-Exchange-Organization-AuthAs')).toEqual([]);
  });

  test('the located fields and the empty line tile the header section', () => {
    const raw = bytes(text);
    const located = locateHeaders(raw);
    expect(located.map((f) => f.name)).toEqual([
      'Received',
      'X-MS-Exchange-Organization-AuthAs',
      'Subject',
      'x-ms-exchange-organization-authas',
      'X-MS-Exchange-Organization-AuthAs',
      'Odd',
    ]);
    located.forEach((f, i) => expect(f.start).toBe(i === 0 ? 0 : located[i - 1].end));
    expect(raw.toString('latin1', located[located.length - 1].end, headerEnd(raw))).toBe('\r\n');
  });
});
