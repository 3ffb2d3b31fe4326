import { expect } from '@jest/globals';
import { relaylabMatchers } from './matchers';

// Importing the package is enough to use the matchers in every test of the file.
expect.extend(relaylabMatchers);

export { relaylabMatchers, type HopTls, type RelaylabMatchers } from './matchers';
export * from './test-lab';
