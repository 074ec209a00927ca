// ESLint flat config: TypeScript, React, Jupyter conventions; formatting is
// left to prettier (eslint-config-prettier turns the clashing rules off).
import js from '@eslint/js';
import jupyter from '@jupyter/eslint-plugin';
import prettierConfig from 'eslint-config-prettier';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import react from 'eslint-plugin-react';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/',
      '**/*.d.ts',
      '.venv/',
      'coverage/',
      'escape_dlaas/labextension/',
      'lib/',
      'ui-tests/playwright-report/',
      'ui-tests/test-results/'
    ]
  },
  {
    files: ['**/*.{js,mjs,ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended]
  },
  { plugins: { jupyter } },
  ...jupyter.configs.recommended,
  {
    files: ['src/**/*.tsx'],
    ...react.configs.flat.recommended,
    settings: { react: { version: 'detect' } }
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      '@typescript-eslint/naming-convention': [
        'error',
        {
          selector: 'interface',
          format: ['PascalCase'],
          custom: { regex: '^I[A-Z]', match: true }
        }
      ],
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none' }],
      curly: 'error',
      eqeqeq: 'error',
      'prefer-arrow-callback': 'error'
    }
  },
  {
    // Imports point one way: no module may reach itself through its imports
    // (type-only imports included: they tie the modules just as much).
    files: ['src/**/*.{ts,tsx}'],
    plugins: { 'import-x': importX },
    settings: {
      // Read the TypeScript sources an import leads to (the default is .js only).
      'import-x/extensions': ['.ts', '.tsx', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/resolver-next': [
        createNodeResolver({ extensions: ['.ts', '.tsx', '.js', '.json'] })
      ]
    },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }]
    }
  },
  {
    // Only the REST client (src/api/) talks to the server: it alone builds
    // URLs and calls ServerConnection; the rest may use its types.
    files: ['src/**/*.{ts,tsx}'],
    ignores: ['src/api/**', 'src/**/__tests__/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@jupyterlab/services',
              message:
                'Call the server through the models (src/api/client.ts).',
              allowTypeImports: true
            }
          ]
        }
      ]
    }
  },
  {
    // Components render models and never fetch: actions go through the
    // models or IDataLakeActions.
    files: ['src/components/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: '@jupyterlab/services',
              message: 'Components never fetch: ask a model.'
            }
          ],
          patterns: [
            {
              group: ['**/api/client', '**/api/request'],
              message: 'Components never fetch: ask a model.',
              allowTypeImports: true
            }
          ]
        }
      ],
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'Components never fetch: ask a model.' },
        {
          name: 'XMLHttpRequest',
          message: 'Components never fetch: ask a model.'
        }
      ]
    }
  },
  {
    // The panel must be in the sidebar at start-up (layout restoration) and
    // the model is the plugin's provided service: activation needs both.
    files: ['src/index.ts'],
    rules: {
      'jupyter/prefer-lazy-imports': [
        'warn',
        {
          ignoreImports: [
            './actions',
            './components/DataLakePanel',
            './models/datalake',
            './notifications'
          ]
        }
      ]
    }
  },
  {
    // Tests name things as the code under test does, and need no i18n.
    files: ['src/**/__tests__/**', 'ui-tests/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      'jupyter/no-untranslated-string': 'off'
    }
  },
  {
    files: ['*.js', 'ui-tests/*.js', 'benchmarks/*.js'],
    languageOptions: { globals: globals.node, sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  },
  prettierConfig
);
