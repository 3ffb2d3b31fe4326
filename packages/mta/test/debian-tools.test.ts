import { tool } from './debian-tools';

test('a tool missing from PATH fails naming the Debian package that carries it', () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    expect(() => tool('dig')).toThrow(/^dig is not installed, .*install Debian's dnsutils package \(apt-get install dnsutils\)/);
  } finally {
    process.env.PATH = path;
  }
});

test('an installed tool is found on PATH', () => {
  expect(tool('openssl')).toMatch(/\/openssl$/);
});
