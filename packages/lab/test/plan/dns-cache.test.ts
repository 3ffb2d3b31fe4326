import { VirtualClock, type Topology } from '@relaylab/core';
import { CachingResolver, LiveZone } from '../../src/plan/dns-cache';

const nodes = {
  onprem: { role: 'exchange-server', hostname: 'mail.contoso.example', address: '127.0.0.10' },
  eop: { role: 'exchange-online', hostname: 'contoso-example.mail.protection.outlook.example', address: '127.0.0.20' },
} as unknown as Topology['nodes'];
const before = { mx: { 'contoso.example': ['mail.contoso.example'] } };
const after = { mx: { 'contoso.example': ['contoso-example.mail.protection.outlook.example'] } };
const exchange = async (r: CachingResolver) => (await r.mx('contoso.example'))[0]!.exchange;

test('a sender keeps the MX it resolved until the TTL it got it with runs out, then sees the new one', async () => {
  const clock = new VirtualClock(() => 0);
  const zone = new LiveZone(before, nodes, 3_600_000);
  const sender = new CachingResolver(zone, clock);
  expect(await exchange(sender)).toBe('mail.contoso.example');
  clock.advance(600_000);
  zone.publish(after, ['contoso.example'], 300_000);
  // a sender that never asked sees the new record at once; one that asked keeps its copy
  expect(await exchange(new CachingResolver(zone, clock))).toBe('contoso-example.mail.protection.outlook.example');
  clock.advance(3_000_000 - 1);
  expect(await exchange(sender)).toBe('mail.contoso.example');
  clock.advance(1);
  expect(await exchange(sender)).toBe('contoso-example.mail.protection.outlook.example');
  // the new answer is kept for the new record's TTL (5 minutes), not the old one's
  zone.publish(before, ['contoso.example'], 300_000);
  clock.advance(299_999);
  expect(await exchange(sender)).toBe('contoso-example.mail.protection.outlook.example');
  clock.advance(1);
  expect(await exchange(sender)).toBe('mail.contoso.example');
});

test('a name that does not resolve is asked again, not remembered', async () => {
  const clock = new VirtualClock(() => 0);
  const zone = new LiveZone({}, nodes, 3_600_000);
  const sender = new CachingResolver(zone, clock);
  await expect(sender.mx('fabrikam.example')).rejects.toThrow(/no MX or A record/);
  zone.publish({ a: { 'fabrikam.example': '127.0.0.30' } }, ['fabrikam.example'], 60_000);
  expect(await sender.a('fabrikam.example')).toEqual(['127.0.0.30']);
});
