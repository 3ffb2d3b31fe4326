import type { Config } from 'jest';

// Tests run from TypeScript sources; `tsc -b` (run first by `npm test`) does the type checking,
// so ts-jest only transpiles.
const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/packages'],
  testMatch: ['**/test/**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: { isolatedModules: true, module: 'commonjs', target: 'ES2022', esModuleInterop: true } }] },
  moduleNameMapper: { '^@relaylab/(core|pki|mta|lab|report|cli|jest)$': '<rootDir>/packages/$1/src/index.ts' },
  testTimeout: 30000,
};
export default config;
