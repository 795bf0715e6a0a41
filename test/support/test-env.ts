/**
 * Where the test brokers and the test fleet run: ports and state directories apart from
 * a developer's fleet (`npm run up` uses 8080/9092 and .intake/). Set
 * `INTAKE_TEST_PORT_OFFSET` (a multiple of 10) to run a second suite beside this one.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const ROOT = resolve(__dirname, '..', '..');

const offset = Number(process.env.INTAKE_TEST_PORT_OFFSET ?? 0);
const suffix = offset === 0 ? '' : `-${offset}`;

export const TEST_BROKER = {
  port: 19092 + offset,
  stateDir: resolve(ROOT, '.intake', `test-broker${suffix}`),
  brokers: [`127.0.0.1:${19092 + offset}`],
};

export const E2E_FLEET = {
  httpPort: 28080 + offset,
  kafkaPort: 29092 + offset,
  // Above every offset's broker and controller ports (29092 + offset, + 1): suites run side
  // by side with offsets 10 apart must not take each other's ports.
  workerBasePort: 29151 + offset,
  stateDir: resolve(ROOT, '.intake', `e2e${suffix}`),
  brokers: [`127.0.0.1:${29092 + offset}`],
  baseUrl: `http://127.0.0.1:${28080 + offset}`,
};

/**
 * The host ports of the docker-compose stack (containers stage) and of the kube-apiserver
 * and its etcd (k8s stage). Like every port here, below Linux's ephemeral range
 * (32768-60999): those stages run beside the fault scenarios, whose many connections may
 * hold any port of that range as a local port (docker-compose.yml's own defaults, 38080
 * and 39092, lost that race once in CI).
 */
export const COMPOSE_STACK = { httpPort: 23080 + offset, kafkaPort: 23092 + offset };
export const K8S_API = { port: 23443 + offset, etcdPort: 23379 + offset };

/** A key of the e2e fleet with its own small limit: 1 request a second, burst 40, fleet-wide. */
export const RATE_LIMITED = {
  source: 'rate-limited',
  key: 'e2e-rate-limited-key-0123456789',
  perSecond: 1,
  burst: 40,
};

/** A key for the SDK tests' 429: 2 requests a second, burst 5, fleet-wide (sdk-server.e2e.test.ts). */
export const SDK_LIMITED = {
  source: 'sdk-limited',
  key: 'e2e-sdk-limited-key-0123456789',
  perSecond: 2,
  burst: 5,
};

export const e2eEnv = (): Record<string, string> => ({
  INTAKE_STATE_DIR: E2E_FLEET.stateDir,
  INTAKE_HTTP_PORT: String(E2E_FLEET.httpPort),
  INTAKE_KAFKA_PORT: String(E2E_FLEET.kafkaPort),
  INTAKE_WORKER_BASE_PORT: String(E2E_FLEET.workerBasePort),
  INTAKE_EDGES: '2',
  INTAKE_WORKERS: '2',
  // worker-2 processes its chunks on a thread of its own (services/worker/processing/): the
  // e2e suites (scores, forgets, deduplication, replies) cover both ways.
  INTAKE_WORKER_PROCESSING_THREADS: 'off,on',
  // A key with a small fleet-wide rate limit, for the rate-limit test (rate-limit.e2e.test.ts).
  INTAKE_API_KEYS: [RATE_LIMITED, SDK_LIMITED].map((k) => `${k.source}:${k.key}`).join(','),
  INTAKE_RATE_LIMITS: [RATE_LIMITED, SDK_LIMITED]
    .map((k) => `${k.source}=${k.perSecond}/${k.burst}`)
    .join(','),
});

/** The e2e fleet's API key (written by `intake up` into its state directory). */
export const e2eApiKey = (): string =>
  readFileSync(resolve(E2E_FLEET.stateDir, 'api-key'), 'utf8').trim();
