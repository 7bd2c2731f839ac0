#!/usr/bin/env node
/**
 * Writes the README's configuration table, generated from the parameter declarations in
 * lib/config.ts (through lib/config-docs.ts, compiled to dist/): `npm run docs:config`.
 * `--check` only reports whether README.md is up to date (exit 1 when not).
 * test/unit/docs.test.ts checks the same thing in the test suite.
 */
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const { readmeWithTable } = require(path.join(root, 'dist', 'lib', 'config-docs.js'));
const file = path.join(root, 'README.md');
const current = fs.readFileSync(file, 'utf8');
const wanted = readmeWithTable(current);
if (process.argv.includes('--check')) {
  if (wanted !== current) {
    process.stderr.write('README.md configuration table is out of date: run npm run docs:config\n');
    process.exit(1);
  }
} else if (wanted !== current) {
  fs.writeFileSync(file, wanted);
  process.stdout.write('README.md configuration table updated\n');
}
