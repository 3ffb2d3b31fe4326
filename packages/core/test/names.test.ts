import {
  domainMatches,
  domainOf,
  domainSpecificity,
  findMatchingName,
  ipInRange,
  ipListed,
  namesMatch,
  narrowestMatch,
  normalizeIp,
  normalizeName,
  parseIpRange,
} from '@relaylab/core';

/**
 * docs/exchange.md, "Certificate names": names match on the certificate's names; a wildcard
 * `*.contoso.example` covers exactly one label [doc]; the connector's TlsDomain may itself be a wildcard.
 */
describe('namesMatch(expected, presented): certificate names against TlsDomain / TlsSenderCertificateName', () => {
  test.each`
    expected                                         | presented                              | matches  | why
    ${'mail.contoso.example'}                        | ${'mail.contoso.example'}              | ${true}  | ${'same name'}
    ${'mail.contoso.example'}                        | ${'smtp.contoso.example'}              | ${false} | ${'different host'}
    ${'mail.contoso.example'}                        | ${'contoso.example'}                   | ${false} | ${'parent domain is a different name'}
    ${'mail.contoso.example'}                        | ${'*.contoso.example'}                 | ${true}  | ${'cert wildcard covers one label'}
    ${'a.b.contoso.example'}                         | ${'*.contoso.example'}                 | ${false} | ${'cert wildcard does not cover two labels'}
    ${'contoso.example'}                             | ${'*.contoso.example'}                 | ${false} | ${'cert wildcard does not cover the bare domain'}
    ${'mail.fabrikam.example'}                       | ${'*.contoso.example'}                 | ${false} | ${'cert wildcard for another domain'}
    ${'mail.xcontoso.example'}                       | ${'*.contoso.example'}                 | ${false} | ${'suffix must be on a label boundary'}
    ${'*.contoso.example'}                           | ${'mail.contoso.example'}              | ${true}  | ${'TlsDomain wildcard covers one label'}
    ${'*.contoso.example'}                           | ${'a.b.contoso.example'}               | ${false} | ${'TlsDomain wildcard does not cover two labels'}
    ${'*.contoso.example'}                           | ${'contoso.example'}                   | ${false} | ${'TlsDomain wildcard does not cover the bare domain'}
    ${'*.contoso.example'}                           | ${'*.contoso.example'}                 | ${true}  | ${'wildcard on both sides, same pattern'}
    ${'*.contoso.example'}                           | ${'*.mail.contoso.example'}            | ${false} | ${'wildcards at different depths'}
    ${'*.mail.contoso.example'}                      | ${'*.contoso.example'}                 | ${false} | ${'wildcards at different depths (reversed)'}
    ${'MAIL.Contoso.EXAMPLE'}                        | ${'mail.contoso.example'}              | ${true}  | ${'case-insensitive (expected upper)'}
    ${'mail.contoso.example'}                        | ${'Mail.CONTOSO.example'}              | ${true}  | ${'case-insensitive (presented upper)'}
    ${'mail.contoso.example.'}                       | ${'mail.contoso.example'}              | ${true}  | ${'trailing dot on expected'}
    ${'mail.contoso.example'}                        | ${'mail.contoso.example.'}             | ${true}  | ${'trailing dot on presented'}
    ${'Mail.Contoso.Example.'}                       | ${'*.CONTOSO.example'}                 | ${true}  | ${'case, trailing dot and wildcard together'}
    ${'*.Contoso.Example.'}                          | ${'MAIL.contoso.example'}              | ${true}  | ${'wildcard TlsDomain with case and trailing dot'}
    ${'mail.protection.outlook.example'}             | ${'*.mail.protection.outlook.example'} | ${false} | ${'EOP wildcard does not cover its own apex'}
    ${'contoso-com.mail.protection.outlook.example'} | ${'*.mail.protection.outlook.example'} | ${true}  | ${'EOP wildcard covers the tenant host'}
  `('$expected vs certificate $presented → $matches ($why)', ({ expected, presented, matches }) => {
    expect(namesMatch(expected, presented)).toBe(matches);
  });

  test('findMatchingName returns the presented name that satisfied the expectation', () => {
    const sans = ['autodiscover.contoso.example', '*.contoso.example', 'mail.contoso.example'];
    expect(findMatchingName('smtp.contoso.example', sans)).toBe('*.contoso.example');
    expect(findMatchingName('mail.contoso.example', ['autodiscover.contoso.example', 'mail.contoso.example'])).toBe('mail.contoso.example');
    expect(findMatchingName('a.b.contoso.example', sans)).toBeUndefined();
    expect(findMatchingName('mail.contoso.example', [])).toBeUndefined();
  });

  test.each`
    input                        | normalized
    ${'Mail.Contoso.Example'}    | ${'mail.contoso.example'}
    ${'mail.contoso.example.'}   | ${'mail.contoso.example'}
    ${'  mail.contoso.example '} | ${'mail.contoso.example'}
  `('normalizeName($input) → $normalized', ({ input, normalized }) => {
    expect(normalizeName(input)).toBe(normalized);
  });
});

/** RecipientDomains, SenderDomains and AddressSpaces patterns: `*`, `*.x`, `x`. */
describe('domainMatches(pattern, domain): connector domain patterns', () => {
  test.each`
    pattern                | domain                       | matches
    ${'*'}                 | ${'contoso.example'}         | ${true}
    ${'*'}                 | ${'a.b.fabrikam.example'}    | ${true}
    ${'contoso.example'}   | ${'contoso.example'}         | ${true}
    ${'contoso.example'}   | ${'CONTOSO.Example.'}        | ${true}
    ${'contoso.example'}   | ${'mail.contoso.example'}    | ${false}
    ${'contoso.example'}   | ${'fabrikam.example'}        | ${false}
    ${'*.contoso.example'} | ${'sales.contoso.example'}   | ${true}
    ${'*.contoso.example'} | ${'a.sales.contoso.example'} | ${true}
    ${'*.contoso.example'} | ${'contoso.example'}         | ${false}
    ${'*.contoso.example'} | ${'xcontoso.example'}        | ${false}
    ${'*.contoso.example'} | ${'fabrikam.example'}        | ${false}
    ${'*.Contoso.Example'} | ${'Sales.contoso.example'}   | ${true}
  `('pattern $pattern, domain $domain → $matches', ({ pattern, domain, matches }) => {
    expect(domainMatches(pattern, domain)).toBe(matches);
  });

  test('specificity orders patterns so the most specific connector wins: * < *.tld < domain < *.domain < host', () => {
    const patterns = ['mail.contoso.example', '*', 'contoso.example', '*.contoso.example', '*.example'];
    const ordered = [...patterns].sort((a, b) => domainSpecificity(a) - domainSpecificity(b));
    expect(ordered).toEqual(['*', '*.example', 'contoso.example', '*.contoso.example', 'mail.contoso.example']);
  });

  test.each`
    broader                | narrower                     | domain
    ${'*'}                 | ${'contoso.example'}         | ${'contoso.example'}
    ${'*'}                 | ${'*.contoso.example'}       | ${'sales.contoso.example'}
    ${'*.example'}         | ${'*.contoso.example'}       | ${'sales.contoso.example'}
    ${'*.contoso.example'} | ${'sales.contoso.example'}   | ${'sales.contoso.example'}
    ${'*.contoso.example'} | ${'*.sales.contoso.example'} | ${'eu.sales.contoso.example'}
  `('for $domain both $broader and $narrower match, and $narrower is more specific', ({ broader, narrower, domain }) => {
    expect(domainMatches(broader, domain)).toBe(true);
    expect(domainMatches(narrower, domain)).toBe(true);
    expect(domainSpecificity(narrower)).toBeGreaterThan(domainSpecificity(broader));
  });

  test.each`
    address                          | domain
    ${'bob@Contoso.Example'}         | ${'contoso.example'}
    ${'"odd@name"@fabrikam.example'} | ${'fabrikam.example'}
    ${'contoso.example.'}            | ${'contoso.example'}
  `('domainOf($address) → $domain', ({ address, domain }) => {
    expect(domainOf(address)).toBe(domain);
  });
});

/** IPv4 ranges as Exchange writes them in RemoteIPRanges / SenderIPAddresses. */
describe('ip ranges', () => {
  test.each`
    text                         | first          | last
    ${'10.0.0.5'}                | ${'10.0.0.5'}  | ${'10.0.0.5'}
    ${'10.0.0.0/24'}             | ${'10.0.0.0'}  | ${'10.0.0.255'}
    ${'10.0.0.77/24'}            | ${'10.0.0.0'}  | ${'10.0.0.255'}
    ${'127.0.0.0/8'}             | ${'127.0.0.0'} | ${'127.255.255.255'}
    ${'10.0.0.9/32'}             | ${'10.0.0.9'}  | ${'10.0.0.9'}
    ${'10.0.0.1-10.0.0.9'}       | ${'10.0.0.1'}  | ${'10.0.0.9'}
    ${'10.0.0.1 - 10.0.0.9'}     | ${'10.0.0.1'}  | ${'10.0.0.9'}
    ${'0.0.0.0-255.255.255.255'} | ${'0.0.0.0'}   | ${'255.255.255.255'}
    ${'*'}                       | ${'0.0.0.0'}   | ${'255.255.255.255'}
  `('parseIpRange($text) spans $first … $last', ({ text, first, last }) => {
    const r = parseIpRange(text);
    expect(r).toBeDefined();
    expect(ipInRange(first, r!)).toBe(true);
    expect(ipInRange(last, r!)).toBe(true);
    expect(r!.last - r!.first).toBe(toNumber(last) - toNumber(first));
  });

  test.each`
    text
    ${'10.0.0.256'}
    ${'10.0.0'}
    ${'10.0.0.0/33'}
    ${'10.0.0.9-10.0.0.1'}
    ${'mail.contoso.example'}
  `('parseIpRange($text) rejects a malformed range', ({ text }) => {
    expect(parseIpRange(text)).toBeUndefined();
  });

  test.each`
    ip                   | range                  | inside
    ${'10.0.0.5'}        | ${'10.0.0.5'}          | ${true}
    ${'10.0.0.6'}        | ${'10.0.0.5'}          | ${false}
    ${'10.0.0.200'}      | ${'10.0.0.0/24'}       | ${true}
    ${'10.0.1.0'}        | ${'10.0.0.0/24'}       | ${false}
    ${'10.0.0.9'}        | ${'10.0.0.1-10.0.0.9'} | ${true}
    ${'10.0.0.10'}       | ${'10.0.0.1-10.0.0.9'} | ${false}
    ${'::ffff:10.0.0.5'} | ${'10.0.0.0/24'}       | ${true}
    ${'not-an-ip'}       | ${'*'}                 | ${false}
  `('$ip in $range → $inside', ({ ip, range, inside }) => {
    expect(ipInRange(ip, parseIpRange(range)!)).toBe(inside);
  });

  test.each`
    ip             | ranges                                                      | narrowest
    ${'10.0.0.5'}  | ${['0.0.0.0-255.255.255.255', '10.0.0.0/8', '10.0.0.0/24']} | ${'10.0.0.0/24'}
    ${'10.0.0.5'}  | ${['10.0.0.0/24', '10.0.0.5', '10.0.0.0/8']}                | ${'10.0.0.5'}
    ${'10.0.0.5'}  | ${['10.0.0.0/24', '10.0.0.1-10.0.0.9']}                     | ${'10.0.0.1-10.0.0.9'}
    ${'10.0.1.5'}  | ${['10.0.0.0/24', '10.0.0.0/16']}                           | ${'10.0.0.0/16'}
    ${'192.0.2.1'} | ${['10.0.0.0/8', '127.0.0.1']}                              | ${undefined}
  `('narrowestMatch($ip, $ranges) → $narrowest', ({ ip, ranges, narrowest }) => {
    expect(narrowestMatch(ip, ranges)?.text).toBe(narrowest);
    expect(ipListed(ip, ranges)).toBe(narrowest !== undefined);
  });

  test('ipListed is false for an absent list, and IPv4-mapped IPv6 addresses are normalized', () => {
    expect(ipListed('10.0.0.5', undefined)).toBe(false);
    expect(ipListed('10.0.0.5', [])).toBe(false);
    expect(normalizeIp('::ffff:127.0.0.10')).toBe('127.0.0.10');
    expect(normalizeIp('127.0.0.10')).toBe('127.0.0.10');
  });
});

function toNumber(ip: string): number {
  return ip.split('.').reduce((n, part) => n * 256 + Number(part), 0);
}
