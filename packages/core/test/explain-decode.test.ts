import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { decodeAntispamReport, explainMessage, parseAuthenticationResults, parseReceived } from '@relaylab/core';

/** Reading back what servers wrote: Received forms, X-Forefront-Antispam-Report, Authentication-Results. */

describe('Received', () => {
  test("Exchange's form: client and server addresses, TLS version and cipher, build id", () => {
    const hop = parseReceived(
      'from mail.contoso.example (192.0.2.25) by\r\n BN2PEPF000044A7.mail.protection.outlook.com (10.167.243.152) with Microsoft\r\n SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n 15.20.7633.19 via Frontend Transport; Mon, 30 Nov 2026 10:02:03 +0000',
    );
    expect(hop).toMatchObject({
      from: 'mail.contoso.example',
      fromIp: '192.0.2.25',
      by: 'BN2PEPF000044A7.mail.protection.outlook.com',
      byIp: '10.167.243.152',
      writer: 'exchange',
      tls: { version: 'TLS1_2', protocol: 'TLSv1.2', cipher: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' },
      id: '15.20.7633.19',
      date: 'Mon, 30 Nov 2026 10:02:03 +0000',
    });
  });

  test("Postfix's form: the 'with cipher' inside the comment is not the with clause", () => {
    const hop = parseReceived(
      'from app01.tailspin.example (app01.tailspin.example [198.51.100.7])\r\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n\t(No client certificate requested)\r\n\tby mx.tailspin.example (Postfix) with ESMTPS id 4Qx9Zr6Kq8z9sW1\r\n\tfor <carol@contoso.example>; Mon, 30 Nov 2026 09:15:10 +0000 (UTC)',
    );
    expect(hop).toMatchObject({
      from: 'app01.tailspin.example',
      fromIp: '198.51.100.7',
      by: 'mx.tailspin.example',
      writer: 'postfix',
      with: 'ESMTPS',
      tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', bits: 256 },
      id: '4Qx9Zr6Kq8z9sW1',
      for: 'carol@contoso.example',
    });
  });

  test('no TLS: Exchange without version, ESMTP; unknown: a form that does not say', () => {
    expect(
      parseReceived('from a.example (192.0.2.1) by b.example (192.0.2.2) with Microsoft SMTP Server id 15.2.1544.4; Mon, 30 Nov 2026 10:00:00 +0000').tls,
    ).toBeNull();
    expect(parseReceived('from a.example ([192.0.2.1]) by b.example with ESMTP id X; Mon, 30 Nov 2026 10:00:00 +0000').tls).toBeNull();
    expect(parseReceived('from a.example ([192.0.2.1]) by b.example with ESMTPS id X; Mon, 30 Nov 2026 10:00:00 +0000').tls).toEqual({});
    expect(parseReceived('from a.example by b.example with HTTP; Mon, 30 Nov 2026 10:00:00 +0000').tls).toBeUndefined();
    expect(parseReceived('from a.example by b.example; Mon, 30 Nov 2026 10:00:00 +0000').tls).toBeUndefined();
  });

  test('RFC 3848 / RFC 6531 protocol types: the S means TLS, in every variant (LMTP, UTF8, with A)', () => {
    const tls = (w: string) => parseReceived(`from a (a [192.0.2.1]) by b with ${w} id X; Mon, 30 Nov 2026 10:00:00 +0000`).tls;
    for (const w of ['ESMTPS', 'ESMTPSA', 'LMTPS', 'LMTPSA', 'UTF8SMTPS', 'UTF8SMTPSA', 'UTF8LMTPS', 'UTF8LMTPSA']) expect([w, tls(w)]).toEqual([w, {}]);
    for (const w of ['SMTP', 'ESMTP', 'ESMTPA', 'LMTP', 'LMTPA', 'UTF8SMTP', 'UTF8SMTPA', 'UTF8LMTP', 'UTF8LMTPA']) expect([w, tls(w)]).toEqual([w, null]);
  });

  test("Exchange 2010's (TLS) form and Sendmail's version=… cipher=… bits=… form both say TLS", () => {
    const e2010 = parseReceived(
      'from EX01.contoso.example (10.0.0.1) by EX02.contoso.example (10.0.0.2) with Microsoft SMTP Server (TLS) id 14.3.498.0; Mon, 30 Nov 2026 10:00:00 +0000',
    );
    expect(e2010.writer).toBe('exchange');
    expect(e2010.tls).toEqual({});
    const sendmail = parseReceived(
      'from mx.example (mx.example [192.0.2.9]) by relay.example (8.17.1/8.17.1) with ESMTPS id 5AU9xQ1a (version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT) for <a@b.example>; Mon, 30 Nov 2026 10:00:00 +0000',
    );
    expect(sendmail.tls).toEqual({ version: 'TLSv1.3', protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', bits: 256 });
  });

  test("Postfix's local pickup form, (Postfix, from userid 1000), is Postfix's", () => {
    const hop = parseReceived('by app01.tailspin.example (Postfix, from userid 1000)\r\n\tid 4Qx9Zr6Kq8z9sW1; Mon, 30 Nov 2026 09:15:09 +0000 (UTC)');
    expect(hop).toMatchObject({ by: 'app01.tailspin.example', writer: 'postfix', id: '4Qx9Zr6Kq8z9sW1' });
  });

  test('the chain is read oldest first', () => {
    const raw = 'Received: from b.example by c.example with ESMTPS; d\r\nReceived: from a.example by b.example with ESMTP; d\r\nSubject: x\r\n\r\n';
    expect(explainMessage(raw).hops.map((h) => h.by)).toEqual(['b.example', 'c.example']);
  });
});

describe('X-Forefront-Antispam-Report', () => {
  const fields = decodeAntispamReport(
    'CIP:203.0.113.50;CTRY:NL;LANG:en;SCL:1;SRV:BULK;IPV:CAL;SFV:SKA;H:mx.tailspin.example;PTR:mx.tailspin.example;CAT:PHSH;SFS:(13230040)(376014);DIR:OUT;SFP:1102;',
  );
  const field = (name: string) => fields.find((f) => f.field === name)!;

  test('every field the issue names is decoded, in the order written', () => {
    expect(fields.map((f) => f.field)).toEqual(['CIP', 'CTRY', 'LANG', 'SCL', 'SRV', 'IPV', 'SFV', 'H', 'PTR', 'CAT', 'SFS', 'DIR', 'SFP']);
  });

  test.each([
    ['CIP', /connecting IP address 203\.0\.113\.50/],
    ['CTRY', /country\/region NL/],
    ['LANG', /written in en/],
    ['SCL', /spam confidence level 1: not spam/],
    ['SRV', /bulk email/],
    ['IPV', /IP Allow List/],
    ['SFV', /allowed senders or domains/],
    ['H', /HELO\/EHLO .*mx\.tailspin\.example/],
    ['PTR', /PTR.*mx\.tailspin\.example/],
    ['CAT', /^phishing$/],
    ['DIR', /^outbound message$/],
  ])('%s is documented: %s', (name, meaning) => {
    expect(field(name).documented).toBe(true);
    expect(field(name).meaning).toMatch(meaning);
  });

  test('SFS and a field the page does not describe are said to be undocumented, not guessed', () => {
    for (const name of ['SFS', 'SFP']) {
      expect(field(name).documented).toBe(false);
      expect(field(name).meaning).toMatch(/not documented/);
    }
  });

  test('SFV:SKI gives both readings Microsoft has published, and the hybrid one seen in the field', () => {
    const [ski] = decodeAntispamReport('SFV:SKI;');
    expect(ski!.meaning).toMatch(/IP Allow List/);
    expect(ski!.meaning).toMatch(/intra-organization/);
  });

  test('SCL bands follow "Spam confidence level (SCL)": 7 is not used by the filter, only set by a rule; out of range is flagged', () => {
    const meaning = (v: string) => decodeAntispamReport(`SCL:${v};`)[0]!;
    expect(meaning('-1').meaning).toMatch(/skipped spam filtering/);
    expect(meaning('6').meaning).toMatch(/: spam\./);
    expect(meaning('7').meaning).toMatch(/not used by spam filtering/);
    expect(meaning('7').meaning).toMatch(/mail flow rule/);
    expect(meaning('9').meaning).toMatch(/high confidence spam/);
    expect(meaning('12')).toMatchObject({ documented: false });
    expect(meaning('12').meaning).toMatch(/outside -1 to 9/);
  });

  test('CAT:NONE is marked undocumented, saying where it was seen', () => {
    const [none] = decodeAntispamReport('CAT:NONE;');
    expect(none).toMatchObject({ documented: false });
    expect(none!.meaning).toMatch(/earlier versions/);
  });

  test('a value the page does not list for a documented field is flagged', () => {
    const [odd] = decodeAntispamReport('SFV:XYZ;');
    expect(odd).toMatchObject({ field: 'SFV', value: 'XYZ', documented: false });
  });
});

describe('Authentication-Results', () => {
  test("Exchange Online's form, without an authserv-id", () => {
    const r = parseAuthenticationResults(
      'spf=pass (sender IP is 203.0.113.50) smtp.mailfrom=tailspin.example; dkim=pass (signature was verified) header.d=tailspin.example;dmarc=pass action=none header.from=tailspin.example;compauth=pass reason=100',
    );
    expect(r.authservId).toBe('');
    expect(r.results.map((x) => `${x.method}=${x.result}`)).toEqual(['spf=pass', 'dkim=pass', 'dmarc=pass', 'compauth=pass']);
    expect(r.results[0]).toMatchObject({ comment: 'sender IP is 203.0.113.50', properties: { 'smtp.mailfrom': 'tailspin.example' } });
    expect(r.results[3]!.properties).toEqual({ reason: '100' });
  });

  test('RFC 8601 form with an authserv-id', () => {
    const r = parseAuthenticationResults('mx.google.example; dkim=fail header.i=@a.example; spf=softfail smtp.mailfrom=a.example');
    expect(r.authservId).toBe('mx.google.example');
    expect(r.results.map((x) => x.result)).toEqual(['fail', 'softfail']);
  });
});

describe('classification: the foreign-tenant finding', () => {
  const sample = readFileSync(resolve(__dirname, '../../../examples/headers/other-tenant-connector.eml'), 'latin1');
  /** Hybrid mail of an organization with two accepted domains, sent from one to the other: legitimately internal. */
  const ownTenant = sample
    .replace('X-OriginatorOrg: woodgrove.example', 'X-OriginatorOrg: contoso.example')
    .replace('From: Mallory Ross <mallory@woodgrove.example>', 'From: Bob <bob@contoso.example>')
    .replace('To: alice@contoso.example', 'To: alice@contoso.net');

  test('another tenant delivering to the hybrid endpoint is found', () => {
    expect(explainMessage(sample).classification.causes).toEqual(['foreign-tenant']);
    expect(explainMessage(sample, { organizationDomains: ['contoso.example'] }).classification.causes).toEqual(['foreign-tenant']);
  });

  test("with --org naming the organization's domains, its own mail to its other domain is not called another tenant's", () => {
    expect(explainMessage(ownTenant, { organizationDomains: ['contoso.example', 'contoso.net'] }).classification.causes).toEqual([]);
  });
});

describe('classification: mail to another organization', () => {
  test('arriving anonymous at another organization is expected, not a broken hybrid hop', () => {
    const sample = readFileSync(resolve(__dirname, '../../../examples/headers/gateway-breaks-internal.eml'), 'latin1');
    expect(explainMessage(sample).classification.causes).toEqual(['device-in-path']);
    const toPartner = sample.replace(/^To: .*$/m, 'To: carol@fabrikam.example');
    const c = explainMessage(toPartner).classification;
    expect(c.causes).toEqual([]);
    expect(c.reasons.join('\n')).not.toMatch(/yet the message arrived/);
  });
});
