import fc from 'fast-check';
import { applyEdits, headerIndex, headerValues, parseHeaders, prependHeader, removeHeaders, sameHeaderName, type HeaderEdit } from '@relaylab/core';

/** The definition: each edit applied to the bytes the previous one left. applyEdits does it in one parse. */
function oneByOne(raw: Buffer, edits: readonly HeaderEdit[]): Buffer {
  let out = raw;
  for (const e of edits) out = e.op === 'prepend' ? prependHeader(out, e.name, e.value ?? '') : removeHeaders(out, (n) => sameHeaderName(n, e.name));
  return out;
}

const names = fc.constantFrom('Received', 'X-MS-Exchange-Organization-AuthAs', 'x-ms-exchange-organization-authas', 'Subject', 'From', 'X-A');
const line = fc.oneof(
  fc.tuple(names, fc.constantFrom('v', 'a b', 'folded\r\n value', '')).map(([n, v]) => `${n}: ${v}\r\n`),
  fc.constantFrom(' orphan continuation\r\n', 'no colon here\r\n', 'Name : spaced\r\n', 'Bare: lf\n', 'X-A:\r\n\tfolded name\r\n'),
);
const message = fc
  .tuple(fc.array(line, { maxLength: 8 }), fc.constantFrom('\r\nbody\r\nX-A: not a header\r\n', '', '\nbody'))
  .map(([lines, body]) => Buffer.from(lines.join('') + body, 'latin1'));
const edit: fc.Arbitrary<HeaderEdit> = fc.oneof(
  fc.tuple(names, fc.constantFrom('new', 'other value')).map(([name, value]) => ({ op: 'prepend' as const, name, value, reason: 'test' })),
  names.map((name) => ({ op: 'remove' as const, name, reason: 'test' })),
);

test('applyEdits gives the bytes that applying each edit in turn gives, whatever the message', () => {
  fc.assert(
    fc.property(message, fc.array(edit, { maxLength: 12 }), (raw, edits) => {
      expect(applyEdits(raw, edits).toString('latin1')).toBe(oneByOne(raw, edits).toString('latin1'));
    }),
    { numRuns: 2000 },
  );
});

test('headerIndex answers as headerValues does, for every name', () => {
  fc.assert(
    fc.property(message, names, (raw, name) => {
      expect(headerIndex(parseHeaders(raw))(name)).toEqual(headerValues(raw, name));
    }),
  );
});
