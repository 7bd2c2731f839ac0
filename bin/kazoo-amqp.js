#!/usr/bin/env node
// The kazoo-amqp command: a thin start over lib/kemi/cli.ts (compiled to dist/).
'use strict';
const { main } = require('../dist/lib/kemi/cli');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Leave the event loop to empty itself (stdout flushed); never linger past a second.
    setTimeout(() => process.exit(code), 1000).unref();
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
