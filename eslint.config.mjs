// ESLint flat config: TypeScript, React, Jupyter conventions; formatting is
// left to prettier (eslint-config-prettier turns the clashing rules off).
import js from '@eslint/js';
import jupyter from '@jupyter/eslint-plugin';
import prettierConfig from 'eslint-config-prettier';
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
