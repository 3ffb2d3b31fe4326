import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PostfixRoute } from '../src/postfix/config';
import { PostfixLogParser, replyOf, type PostfixEvent } from '../src/postfix/log-parser';

// Maillogs Debian's Postfix 3.7 wrote while playing fabrikam (127.0.0.30) in a lab.
const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', 'postfix', name), 'utf8').split('\n');

const toEop = (port: number): PostfixRoute => ({
  domain: 'contoso.example',
  connector: 'To Contoso',
  host: 'contoso-example.mail.protection.outlook.example',
  ip: '127.0.0.20',
  port,
  requirement: 'DomainValidation',
  ignoreStartTls: false,
  tlsDomain: 'mail.protection.outlook.example',
});

function parse(file: string, routes: PostfixRoute[], port = 2530): { events: PostfixEvent[]; parser: PostfixLogParser } {
  const parser = new PostfixLogParser({ node: 'fabrikam', address: '127.0.0.30', port, routes });
  return { events: fixture(file).flatMap((line) => parser.feed(line)), parser };
}

const ofType = <T extends PostfixEvent['type']>(events: PostfixEvent[], type: T) => events.filter((e): e is PostfixEvent & { type: T } => e.type === type);

describe("Postfix's maillog as trace events", () => {
  it('a verified TLS 1.3 delivery is an attempt that was sent, with the version, cipher and the name it matched', () => {
    const { events, parser } = parse('sent-verified.log', [toEop(44819)]);
    expect(events.map((e) => e.type)).toEqual(['attempt']);
    const [a] = ofType(events, 'attempt');
    expect(a).toMatchObject({
      messageId: '<m1.postfix-partner-forced-tls@relaylab.test>',
      recipients: ['bob@contoso.example'],
      accepted: ['bob@contoso.example'],
      connector: 'To Contoso',
      destination: { host: 'contoso-example.mail.protection.outlook.example', ip: '127.0.0.20', port: 44819 },
      local: { ip: '127.0.0.30' },
      tls: { secure: true, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
      tlsRequirement: 'smtp_tls_security_level secure match=mail.protection.outlook.example',
      certificateVerified: true,
      verifiedName: 'mail.protection.outlook.example',
      outcome: 'sent',
      replies: ['250 2.6.0 <m1.postfix-partner-forced-tls@relaylab.test> Queued mail for delivery'],
    });
    expect(parser.open.size).toBe(0);
  });

  it('a certificate of the wrong name is an untrusted TLS attempt, deferred with 4.7.5 and the verification failure', () => {
    const { events, parser } = parse('deferred-wrong-name.log', [toEop(46023)]);
    expect(events.map((e) => e.type)).toEqual(['attempt', 'deferred']);
    const [a] = ofType(events, 'attempt');
    expect(a).toMatchObject({
      accepted: [],
      outcome: 'deferred',
      tls: { secure: true, protocol: 'TLSv1.3' },
      certificateVerified: false,
      certificateProblems: ['num=62:hostname mismatch'],
      replies: ['4.7.5 Server certificate not verified'],
    });
    expect(a?.verifiedName).toBeUndefined();
    expect(ofType(events, 'deferred')[0]).toMatchObject({ recipients: ['bob@contoso.example'], reply: '4.7.5 Server certificate not verified' });
    // deferred: Postfix holds it, nothing in its active queue
    expect(parser.open.size).toBe(0);
  });

  it('a destination Postfix holds as dead defers the next messages without an attempt', () => {
    const { events } = parse('deferred-then-suspended.log', [{ ...toEop(46207), requirement: 'Opportunistic' }]);
    const attempts = ofType(events, 'attempt');
    expect(attempts).toHaveLength(3);
    expect(attempts.every((a) => a.outcome === 'deferred' && !a.tls.secure && a.destination.port === 46207)).toBe(true);
    const deferred = ofType(events, 'deferred');
    expect(deferred).toHaveLength(6);
    expect(deferred[3]?.reply).toBe('4.4.1 delivery temporarily suspended: connect to 127.0.0.20[127.0.0.20]:46207: Connection refused');
  });

  it('what smtpd accepted is received (client TLS and certificate trust), delivered to the Maildir; a refused RCPT is refused', () => {
    const { events } = parse('received-and-refused.log', [], 43385);
    expect(events.map((e) => e.type)).toEqual(['refused', 'received', 'delivered']);
    expect(ofType(events, 'received')[0]).toMatchObject({
      messageId: '<m1.postfix-onprem-to-partner-domain-validation@relaylab.test>',
      from: 'alice@contoso.example',
      to: ['ann@fabrikam.example'],
      local: { ip: '127.0.0.30', port: 43385 },
      remote: { ip: '127.0.0.10', port: 34331 },
      ehlo: 'mail.contoso.example',
      tls: { secure: true, protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' },
      clientCertificateVerified: true,
    });
    expect(ofType(events, 'refused')[0]).toMatchObject({
      command: 'RCPT TO',
      recipient: 'nobody@fabrikam.example',
      remote: { ip: '127.0.0.10', port: 40037 },
      reply: '550 5.1.1 <nobody@fabrikam.example>: Recipient address rejected: User unknown in virtual mailbox table',
    });
    expect(ofType(events, 'delivered')[0]).toMatchObject({ recipient: 'ann@fabrikam.example', mailbox: 'ann@fabrikam.example', folder: 'Inbox' });
  });

  it('a bounce carries the remote reply (or Postfix own status) and the Message-ID of the notification it sent', () => {
    const { events } = parse('bounced.log', [{ ...toEop(44935), connector: 'Default (MX, opportunistic TLS)', requirement: 'Opportunistic' }]);
    const bounced = ofType(events, 'bounced');
    expect(bounced).toEqual([
      expect.objectContaining({
        messageId: '<m2.postfix-bounce@relaylab.test>',
        reply: '5.1.2 no route to this domain in the lab',
        dsn: '<20261130111438.8C273262156@mail.fabrikam.example>',
      }),
      expect.objectContaining({
        messageId: '<m1.postfix-bounce@relaylab.test>',
        reply: '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
        dsn: '<20261130111438.BD8E6262159@mail.fabrikam.example>',
      }),
    ]);
    expect(ofType(events, 'dsn').map((d) => [d.messageId, d.to])).toEqual([
      ['<m2.postfix-bounce@relaylab.test>', 'alice@fabrikam.example'],
      ['<m1.postfix-bounce@relaylab.test>', 'alice@fabrikam.example'],
    ]);
    const [attempt] = ofType(events, 'attempt');
    expect(attempt).toMatchObject({ outcome: 'refused', certificateVerified: true, tlsRequirement: 'smtp_tls_security_level may' });
    expect(attempt?.verifiedName).toBeUndefined();
    expect(ofType(events, 'delivered').map((d) => d.messageId)).toEqual(bounced.map((b) => b.dsn));
  });

  it('reads the reply out of what the remote host said, and uses the status where Postfix decided itself', () => {
    expect(replyOf('5.7.1', 'host x[1.2.3.4] said: 550-5.7.1 no (in reply to end of DATA command)')).toBe('550 5.7.1 no');
    expect(replyOf('2.0.0', '250 2.0.0 Ok: queued as 1234')).toBe('250 2.0.0 Ok: queued as 1234');
    expect(replyOf('4.4.1', 'connect to 127.0.0.20[127.0.0.20]:25: Connection refused')).toBe('4.4.1 connect to 127.0.0.20[127.0.0.20]:25: Connection refused');
  });

  it('ignores lines that are not Postfix records', () => {
    const parser = new PostfixLogParser({ node: 'n', address: '127.0.0.1', port: 25, routes: [] });
    expect(parser.feed('')).toEqual([]);
    expect(parser.feed('random text')).toEqual([]);
  });
});
