import { presetFor, retryDelay } from '../src';

test('a partner or Internet MTA backs off as Postfix does: 300 s, doubling, at most 4000 s', () => {
  const { retry } = presetFor({ role: 'internet', hostname: 'mail.tailspin.example', address: '127.0.0.60' });
  expect([1, 2, 3, 4, 5, 6].map((attempts) => retryDelay(retry, attempts) / 1000)).toEqual([300, 600, 1200, 2400, 4000, 4000]);
});

test('Exchange Server retries at its quick interval, then at its transient-failure interval', () => {
  const { retry } = presetFor({ role: 'exchange-server', hostname: 'mail.contoso.example', address: '127.0.0.10' });
  expect(retryDelay(retry, 1)).toBe(retryDelay(retry, retry.quickRetries));
  expect(retryDelay(retry, retry.quickRetries + 1)).toBe(retry.intervalMs);
});
