#!/usr/bin/env node
// dist/cli.js runs main() only when it is the entry module; from this shim call it.
const { main } = require('../dist/cli.js');
main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
  process.stderr.write(`eligo: internal error: ${(e && e.stack) || String(e)}\n`);
  process.exitCode = 3;
});
