// ESLint (flat config) for the TypeScript of lib/, bench/, test/ and examples/ and the
// CommonJS helpers beside them; `npm run lint` runs it with clang-format's check of native/.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'native/**', 'typings/**/*.js'] },
  {
    files: ['lib/**/*.ts', 'bench/**/*.ts', 'test/**/*.ts', 'examples/**/*.ts', 'typings/**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: {
      // `_`-prefixed names mark deliberately unused parameters and destructured leftovers.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
      'prefer-const': 'error',
      // Control characters in regular expressions are deliberate here: they are what the
      // validators of names, zones and JSON text look for.
      'no-control-regex': 'off',
    },
  },
  {
    // The addon is loaded with require() at run time (its path is computed).
    files: ['lib/native.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly', __dirname: 'readonly', console: 'readonly' },
    },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  {
    // app_jsdt-style KEMI scripts: plain scripts evaluated with a global KSR; their top-level
    // functions are called by name from the runner, so they look unused to a linter.
    files: ['examples/kemi/**/*.js', 'test/fixtures/kemi/**/*.js'],
    languageOptions: { sourceType: 'script', globals: { KSR: 'readonly' } },
    rules: { 'no-unused-vars': ['error', { vars: 'local' }] },
  },
);
