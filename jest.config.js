// Seven projects, run by `npm test` (scripts/test.sh), each in a jest process of its own, in
// this order except faults, which runs in the background beside disk, integration, e2e, k8s
// and containers (in two processes, the second on ports shifted by INTAKE_TEST_PORT_OFFSET):
//   unit         fakes only, no broker          test/**/*.test.ts
//   disk         LMDB on a full tmpfs            test/**/*.disk.test.ts (alone in its
//                process: lmdb-js routes its writer's reports to the first test file
//                that loaded it, whose console is gone by then)
//   integration  a real broker the setup starts  test/**/*.integration.test.ts
//   e2e          the real local fleet            test/**/*.e2e.test.ts
//   faults       a fleet broken under load       test/faults/*.faults.test.ts
//   containers   images + docker-compose stack   test/**/*.containers.test.ts (needs Docker;
//                through testcontainers)
//   k8s          a real kube-apiserver (infra/k8s/cluster.sh) test/**/*.k8s.test.ts
// and one outside `npm test` (`npm run test:k8s`):
//   k8s-node     the fleet on a real kubelet under load   test/**/*.k8s-node.test.ts
const transform = {
  '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  // ES-module-only packages (jest on Node 20 cannot require them): compiled to CommonJS.
  '/node_modules/@platformatic/.+\\.js$': [
    '@swc/jest',
    { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2022' }, module: { type: 'commonjs' } },
  ],
};
const common = {
  transform,
  transformIgnorePatterns: ['/node_modules/(?!@platformatic/)'],
  testEnvironment: 'node',
  rootDir: __dirname,
  moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: [
        '\\.integration\\.test\\.ts$',
        '\\.disk\\.test\\.ts$',
        '\\.e2e\\.test\\.ts$',
        '\\.containers\\.test\\.ts$',
        '\\.k8s\\.test\\.ts$',
        '\\.k8s-node\\.test\\.ts$',
        '/faults/',
      ],
    },
    {
      ...common,
      displayName: 'disk',
      testMatch: ['<rootDir>/test/**/*.disk.test.ts'],
    },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/**/*.integration.test.ts'],
      globalSetup: '<rootDir>/test/support/broker-setup.ts',
      globalTeardown: '<rootDir>/test/support/broker-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/long-timeout.ts'],
    },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e.test.ts'],
      globalSetup: '<rootDir>/test/support/fleet-setup.ts',
      globalTeardown: '<rootDir>/test/support/fleet-teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/support/long-timeout.ts'],
    },
    {
      ...common,
      displayName: 'faults',
      testMatch: ['<rootDir>/test/faults/**/*.faults.test.ts'],
      globalSetup: '<rootDir>/test/faults/setup.ts',
      globalTeardown: '<rootDir>/test/faults/teardown.ts',
      setupFilesAfterEnv: ['<rootDir>/test/faults/scenario-timeout.ts'],
    },
    {
      ...common,
      displayName: 'containers',
      testMatch: ['<rootDir>/test/**/*.containers.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/long-timeout.ts'],
    },
    {
      ...common,
      displayName: 'k8s',
      testMatch: ['<rootDir>/test/**/*.k8s.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/long-timeout.ts'],
    },
    {
      ...common,
      displayName: 'k8s-node',
      testMatch: ['<rootDir>/test/**/*.k8s-node.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/support/long-timeout.ts'],
    },
  ],
};
