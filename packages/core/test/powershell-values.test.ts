import {
  addressSpaceDomain,
  commonName,
  formatTimeSpan,
  isPowerShellNull,
  matchInboundConnector,
  parseCertificateName,
  parsePowerShellBoolean,
  parseSizeOrUnlimited,
  parseTimeSpanValue,
  splitMultiValued,
  type InboundConnector,
} from '@relaylab/core';

/** docs/exchange.md, "What administrators export": the shapes the cmdlets print values in. */

describe('values as Exchange writes them', () => {
  it.each([
    ['$true', true],
    ['$False', false],
    ['True', true],
    ['false', false],
    [true, true],
    ['yes', undefined],
    [1, undefined],
  ])('boolean %p → %p', (value, expected) => {
    expect(parsePowerShellBoolean(value)).toBe(expected);
  });

  it('$null and JSON null are null; "null" text is not', () => {
    expect(isPowerShellNull('$null')).toBe(true);
    expect(isPowerShellNull(null)).toBe(true);
    expect(isPowerShellNull('')).toBe(false);
  });

  it.each([
    ['smtp:fabrikam.example;1', 'fabrikam.example'],
    ['SMTP:*.contoso.example;10', '*.contoso.example'],
    ['SMTP:*;1', '*'],
    ['fabrikam.example', 'fabrikam.example'],
  ])('address space %s → %s', (space, domain) => {
    expect(addressSpaceDomain(space)).toBe(domain);
  });

  it.each([
    ['36 MB (37,748,736 bytes)', 37_748_736],
    ['Unlimited', Infinity],
    [37748736, 37_748_736],
    ['10 MB', 10 * 1024 * 1024],
    ['lots', undefined],
  ])('size %p → %p', (value, bytes) => {
    expect(parseSizeOrUnlimited(value)).toBe(bytes);
  });

  it('time spans as printed and as ConvertTo-Json objects', () => {
    expect(parseTimeSpanValue('1.00:00:00')).toBe(86_400_000);
    expect(parseTimeSpanValue('00:05:00')).toBe(300_000);
    expect(parseTimeSpanValue({ Ticks: 3_000_000_000, Days: 0, TotalSeconds: 300 })).toBe(300_000);
    expect(parseTimeSpanValue({ TotalSeconds: 60 })).toBe(60_000);
    expect(parseTimeSpanValue('five minutes')).toBeUndefined();
    expect(formatTimeSpan(86_400_000)).toBe('1.00:00:00');
    expect(formatTimeSpan(300_000)).toBe('00:05:00');
  });

  it('certificate names with <I>issuer<S>subject and plain names', () => {
    expect(parseCertificateName('<I>CN=Relaylab Public CA, O=Relaylab<S>CN=mail.contoso.example, O=Contoso')).toEqual({
      issuer: 'CN=Relaylab Public CA, O=Relaylab',
      subject: 'CN=mail.contoso.example, O=Contoso',
      hostName: 'mail.contoso.example',
    });
    expect(parseCertificateName('mail.contoso.example')).toEqual({ subject: 'mail.contoso.example', hostName: 'mail.contoso.example' });
    expect(parseCertificateName('<I>CN=CA<S>O=No Common Name')).toBeUndefined();
    expect(commonName('OU=x, CN="mail.contoso.example"')).toBe('mail.contoso.example');
  });

  it('multi-valued cells from Export-Csv: space- or comma-joined, or lost to a type name', () => {
    expect(splitMultiValued('smtp:fabrikam.example;1 smtp:fabrikam.net;1')).toEqual(['smtp:fabrikam.example;1', 'smtp:fabrikam.net;1']);
    expect(splitMultiValued('{10.0.0.1, 10.0.0.2}')).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(splitMultiValued('System.Object[]')).toBeUndefined();
    expect(splitMultiValued('Microsoft.Exchange.Data.MultiValuedProperty`1[Microsoft.Exchange.Data.SmtpDomain]')).toBeUndefined();
  });
});

describe('SenderDomains in the form Get-InboundConnector prints', () => {
  // Regression: "smtp:fabrikam.example;1" passed validation and then never matched, so the
  // partner's mail was treated as anonymous Internet mail.
  it('matches the partner connector as the plain domain does', () => {
    const partner: InboundConnector = { Name: 'Inbound from Fabrikam', ConnectorType: 'Partner', SenderDomains: ['smtp:fabrikam.example;1'] };
    const facts = { clientIp: '127.0.0.30', localIp: '127.0.0.20', localPort: 25, ehlo: 'mail.fabrikam.example', secure: false };
    const decision = matchInboundConnector([partner], facts, 'fabrikam.example');
    expect(decision.connector).toBe('Inbound from Fabrikam');
    expect(decision.connectorType).toBe('Partner');
  });
});
