#!/usr/bin/env node
'use strict';
require('../dist/main.js')
  .main(process.argv.slice(2))
  .then((code) => { process.exitCode = code; })
  .catch((err) => { process.stderr.write(`relaylab: ${err && err.stack ? err.stack : err}\n`); process.exitCode = 2; });
