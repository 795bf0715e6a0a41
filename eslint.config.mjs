// Lint rules: type-aware checks for promises (no floating or misused promises), type-only
// imports, and the architecture rules: a service imports the shared library (lib/), never
// another service; the Kafka client libraries are imported only by their adapters.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const services = ['edge', 'worker', 'puller', 'cli'];

// The Kafka client libraries stay behind Intake's port (lib/kafka/port.ts): only their
// adapter folders, and the adapters' own tests, import them.
const kafkaClients = [
  {
    regex: '^(kafkajs|@platformatic/kafka)(/.*)?$',
    message:
      'Kafka clients are used only in lib/kafka/kafkajs/ and lib/kafka/platformatic/: use the port (lib/kafka/port.ts).',
  },
];
const kafkaAdapters = [
  'lib/kafka/kafkajs/**/*.ts',
  'lib/kafka/platformatic/**/*.ts',
  'test/lib/kafka/kafkajs/**/*.ts',
  'test/lib/kafka/platformatic/**/*.ts',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.intake/**', 'coverage/**', '*.mjs', '*.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: kafkaClients }] },
  },
  ...services.map((service) => ({
    files: [`services/${service}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            ...kafkaClients,
            ...services
              .filter((other) => other !== service)
              .map((other) => ({
                group: [`**/services/${other}/**`, `../${other}/**`, `../../${other}/**`],
                message: 'A service imports the shared library (lib/), never another service.',
              })),
          ],
        },
      ],
    },
  })),
  { files: kafkaAdapters, rules: { 'no-restricted-imports': 'off' } },
  {
    // the shop demo's plain browser script (served as is by nginx): syntax rules only
    files: ['examples/shop/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
    },
  },
  {
    // The k6 scripts: plain JS that tsc checks against @types/k6 (test/load/k6/tsconfig.json),
    // which declares k6's globals (open, __ENV); a JSDoc cast of JSON.parse is lost on
    // typescript-eslint, so tsc alone checks those.
    files: ['test/load/k6/**/*.js'],
    rules: { 'no-undef': 'off', '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
