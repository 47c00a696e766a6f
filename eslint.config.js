// Flat config: typescript-eslint's type-aware rules for all TypeScript in the workspace, import
// cycles as errors, and no HTML parsing of strings anywhere.
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Properties and calls that turn a string into markup: build DOM nodes and set textContent. */
const htmlFromStrings = [
  'innerHTML',
  'outerHTML',
  'insertAdjacentHTML',
  'createContextualFragment',
].map((property) => ({
  property,
  message: 'Parses a string as HTML: build nodes and set textContent instead.',
}));

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      '**/coverage/**',
      '**/.turbo/**',
      '**/.vitest/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: {
        // Each file is checked with the tsconfig.json of its package (the nearest one).
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      // import-x reads the imported modules itself: TypeScript ones with the TypeScript parser,
      // `./x.js` resolved to `./x.ts` and workspace packages through their tsconfig and exports.
      'import-x/extensions': ['.ts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          project: ['*/*/tsconfig.json'],
          // One tsconfig per package is the layout, not a mistake to warn about.
          noWarnOnMultipleProjects: true,
        }),
      ],
    },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      // A cycle means neither module can be understood (or loaded) without the other. import-x
      // leaves out type-only imports (erased at build time), so keep type modules leaves too.
      'import-x/no-cycle': 'error',
      'no-restricted-properties': ['error', ...htmlFromStrings],
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.property.name='write'][callee.object.name='document']",
          message: 'document.write parses a string as HTML.',
        },
        {
          selector: "NewExpression[callee.name='DOMParser']",
          message: 'DOMParser parses a string as HTML.',
        },
      ],
      'no-eval': 'error',
      'no-console': 'off',
    },
  },
  {
    // Fastify code: an async plugin is how Fastify knows registration is done (no `done`
    // callback), and an async handler or hook returns the reply; neither needs an await.
    files: ['apps/**/*.ts', 'packages/service-kit/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    // Plain JavaScript (benchmarks, scripts, fixtures, the caller's browser code, this file) is in
    // no tsconfig, so the type-aware rules have no program to ask; the syntactic rules still run.
    files: ['**/*.{js,mjs,cjs}'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Browser code of the caller's UI.
    files: ['apps/caller/public/**/*.js'],
    languageOptions: { globals: { ...globals.browser } },
  },
);
