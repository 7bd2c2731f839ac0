/**
 * Lets a plain `node` process or worker thread (lifecycle tests) load lib/ and test/ TypeScript
 * sources directly: `node -r ./test/support/ts-register.js x.ts`. Transpile only (the test run
 * type-checks); no build, so a child never runs a stale dist/.
 */
'use strict';
const fs = require('fs');
const ts = require('typescript');

require.extensions['.ts'] = function compileTs(module, filename) {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: filename,
  });
  module._compile(outputText, filename);
};
