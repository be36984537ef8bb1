// ESLint for the PWA's JavaScript (scripts/test runs it): @eslint/js's recommended rules, with the globals of
// the place each file runs in: the page (pwa/static/js), the service worker (pwa/static/sw.js) and node (the
// build, the node-side sync client of the tests, the bench tools). Types are checked separately by tsc
// (tsconfig.json, tsconfig.sw.json, tsconfig.node.json). CommonJS, because package.json has no "type".
const js = require('@eslint/js');
const globals = require('globals');

module.exports = [
  { ignores: ['node_modules/', 'pwa/static/dist/', 'pwa/static/.dist-*/', 'pwa/static/dist.old-*/', '.venv/', 'var/'] },
  js.configs.recommended,
  {
    files: ['pwa/static/js/**/*.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.browser } },
  },
  {
    files: ['pwa/static/sw.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'script', globals: { ...globals.serviceworker } },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'module', globals: { ...globals.node } },
  },
  {
    files: ['eslint.config.js'],
    languageOptions: { ecmaVersion: 2022, sourceType: 'commonjs', globals: { ...globals.node } },
  },
  {
    rules: {
      // `_`-named unused arguments (a screen that does not need ctx), an unused `catch (error)` and
      // `const { dropped, ...rest } = doc` (leaving a field out of a copy) are deliberate.
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
];
