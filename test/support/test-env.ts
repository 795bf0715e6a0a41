/**
 * Where the test brokers and the test fleet run: ports and state directories apart from
 * a developer's fleet (`npm run up` uses 8080/9092 and .intake/).
 */
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

export const TEST_BROKER = {
  port: 19092,
  stateDir: resolve(ROOT, '.intake', 'test-broker'),
  brokers: ['127.0.0.1:19092'],
};

export const E2E_FLEET = {
  httpPort: 28080,
  kafkaPort: 29092,
  workerBasePort: 29101,
  stateDir: resolve(ROOT, '.intake', 'e2e'),
  brokers: ['127.0.0.1:29092'],
  baseUrl: 'http://127.0.0.1:28080',
};

export const e2eEnv = (): Record<string, string> => ({
  INTAKE_STATE_DIR: E2E_FLEET.stateDir,
  INTAKE_HTTP_PORT: String(E2E_FLEET.httpPort),
  INTAKE_KAFKA_PORT: String(E2E_FLEET.kafkaPort),
  INTAKE_WORKER_BASE_PORT: String(E2E_FLEET.workerBasePort),
  INTAKE_EDGES: '2',
  INTAKE_WORKERS: '2',
});
