#!/usr/bin/env node
/**
 * Part of `npm run build`: copies typings/*.d.ts to dist/typings/. tsc never emits hand-written
 * .d.ts files, yet dist/lib/native.d.ts imports '../typings/native'; without the copy the
 * published types would not compile for a consumer that checks libraries (skipLibCheck false).
 */
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const from = path.join(root, 'typings');
const to = path.join(root, 'dist', 'typings');
fs.rmSync(to, { recursive: true, force: true });
fs.mkdirSync(to, { recursive: true });
for (const name of fs.readdirSync(from)) {
  if (name.endsWith('.d.ts')) fs.copyFileSync(path.join(from, name), path.join(to, name));
}
