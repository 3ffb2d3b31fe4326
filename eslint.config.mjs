// typescript-eslint's recommended rules on every package's sources and tests. Type-aware rules are
// left out on purpose: `tsc -b` already type-checks, and the linter stays fast enough for CI.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'relaylab-report/**', 'relaylab-lab/**', 'artifacts/**', 'coverage/**', 'certs/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // `_name` marks a parameter or binding kept for its position or to drop a field from a spread
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // module augmentation of jest's Matchers needs empty interfaces that extend ours
      '@typescript-eslint/no-empty-object-type': ['error', { allowInterfaces: 'with-single-extends' }],
      '@typescript-eslint/no-namespace': ['error', { allowDeclarations: true }],
      // SMTP and XML deal in raw bytes: control characters in patterns are the point, not a slip
      'no-control-regex': 'off',
      // tests match printed output column for column
      'no-regex-spaces': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
