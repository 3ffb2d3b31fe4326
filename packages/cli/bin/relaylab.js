#!/usr/bin/env node
'use strict';
// `relaylab run --list | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err) => {
  if (err && err.code === 'EPIPE') process.exit(process.exitCode || 0);
  throw err;
});
require('../dist/main.js')
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    process.stderr.write(`relaylab: ${err && err.stack ? err.stack : err}\n`);
    process.exitCode = 2;
  });
