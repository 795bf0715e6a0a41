/**
 * The fleet on a real node (`npm run test:k8s`, outside `npm test`): `infra/k8s/cluster.sh
 * node-up` runs the API server, the controller manager, the scheduler, a kubelet on
 * containerd and kube-proxy on this machine; the project's images (infra/images/build.sh)
 * are imported into containerd and `k8s/overlays/local` is applied. Then, under a bounded
 * load sent to nginx's node port (127.0.0.1:30080): an edge pod and a worker pod are
 * deleted, the edges are scaled 2 -> 3 -> 2 with `kubectl scale`, and the workers are
 * rolled with `kubectl rollout restart`. `intake audit` must find no acknowledged event
 * lost, and every acknowledged event must come out of the workers.
 *
 * Needs root, Docker (for the images), and what `cluster.sh node-up` installs. It stops the
 * cluster afterwards (`cluster.sh down`), so the server-side validation of `npm test` never
 * meets the live fleet; INTAKE_K8S_KEEP=1 leaves it running for a look
 * (`infra/k8s/cluster.sh kubectl -n intake get pods`).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../lib/paths';
import { kafkaDefaults } from '../../lib/config';
import { runLoad } from '../../services/cli/load/load';
import type { LoadResult } from '../../services/cli/load/load';
import { runAudit } from '../../services/cli/audit/audit';
import { hasLoss } from '../../services/cli/audit/analyze';
import { auditDelivery } from '../support/audit';
import { testKafka } from '../support/kafka-helpers';
import { renderYaml } from './render';

const root = projectRoot();
const script = join(root, 'infra', 'k8s', 'cluster.sh');
const tag = '0.1.0';
const images = ['edge', 'worker', 'kafka', 'nginx', 'topic-init'].map((n) => `intake/${n}:${tag}`);
/** The local overlay's fixed addresses (k8s/overlays/local/kustomization.yaml). */
const url = 'http://127.0.0.1:30080/v1/events';
const kafkaBroker = '10.96.0.92:9092';
const apiKey = 'dev-not-a-secret';

jest.setTimeout(3_600_000);

const started = Date.now();
const log = (msg: string): void => {
  process.stdout.write(`[k8s-node +${((Date.now() - started) / 1000).toFixed(1)} s] ${msg}\n`);
};

/** Runs a command, throws with its output when it fails; returns stdout. */
const sh = (cmd: string, args: string[]): string => {
  const r = spawnSync(cmd, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    timeout: 1_800_000,
  });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  }
  return r.stdout;
};
const cluster = (...args: string[]): string => sh('bash', [script, ...args]);
const kubectl = (...args: string[]): string => cluster('kubectl', '-n', 'intake', ...args);

/** Runs `step` and logs how long it took. */
const timed = (what: string, step: () => void): number => {
  const t = Date.now();
  step();
  const s = (Date.now() - t) / 1000;
  log(`${what}: ${s.toFixed(1)} s`);
  return s;
};

const podsOf = (component: string): string[] =>
  kubectl(
    'get',
    'pods',
    '-l',
    `app.kubernetes.io/component=${component}`,
    '-o',
    'jsonpath={.items[*].metadata.name}',
  )
    .split(' ')
    .filter((n) => n !== '');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  timed('cluster.sh node-up (API server, controllers, containerd, kubelet, kube-proxy)', () =>
    cluster('node-up'),
  );
  timed('Docker engine', () =>
    sh('bash', [join(root, 'scripts', 'test-containers.sh'), '--engine-only']),
  );
  timed('images (infra/images/build.sh --base)', () =>
    sh('bash', [join(root, 'infra', 'images', 'build.sh'), '--base']),
  );
  timed('images imported into containerd', () => cluster('import-images', ...images));
  // A fresh namespace, so the audit reads only this run's topics.
  timed('namespace intake deleted', () =>
    cluster('kubectl', 'delete', 'namespace', 'intake', '--ignore-not-found', '--wait=true'),
  );
  timed('local volumes', () => cluster('node-up'));
  const file = join(mkdtempSync(join(tmpdir(), 'intake-k8s-node-')), 'local.yaml');
  writeFileSync(file, renderYaml('local'));
  cluster('kubectl', 'create', 'namespace', 'intake');
  timed('k8s/overlays/local applied', () =>
    cluster('kubectl', 'apply', '--server-side', '--field-manager=intake-test', '-f', file),
  );
  timed('Kafka ready and the topics made (job intake-topic-init complete)', () =>
    kubectl('wait', '--for=condition=complete', 'job/intake-topic-init', '--timeout=900s'),
  );
  timed('fleet ready (edges, workers, nginx)', () => {
    kubectl('rollout', 'status', 'deployment/intake-edge', '--timeout=600s');
    kubectl('rollout', 'status', 'statefulset/intake-worker', '--timeout=600s');
    kubectl('rollout', 'status', 'deployment/intake-nginx', '--timeout=600s');
  });
});

afterAll(() => {
  if (process.env.INTAKE_K8S_KEEP === '1') log('INTAKE_K8S_KEEP=1: the cluster keeps running');
  else timed('cluster.sh down', () => cluster('down'));
});

it('loses no acknowledged event while pods are deleted, edges scaled and workers rolled', async () => {
  const loadStarted = Date.now();
  const stop = new AbortController();
  const loading: Promise<LoadResult> = runLoad({
    url,
    apiKey,
    rate: 20,
    batch: 5,
    durationMs: 1_800_000,
    retryForMs: 120_000,
    signal: stop.signal,
  });
  await sleep(15_000);

  const [edge] = podsOf('edge');
  timed(`edge pod ${edge} deleted (preStop, drain, exit)`, () =>
    kubectl('delete', 'pod', edge!, '--wait=true'),
  );
  timed('edges available again (2)', () =>
    kubectl('rollout', 'status', 'deployment/intake-edge', '--timeout=300s'),
  );
  await sleep(5_000);
  timed('worker pod intake-worker-1 deleted (drain, exit)', () =>
    kubectl('delete', 'pod', 'intake-worker-1', '--wait=true'),
  );
  timed('workers ready again (2)', () =>
    kubectl('rollout', 'status', 'statefulset/intake-worker', '--timeout=300s'),
  );
  await sleep(5_000);
  timed('edges scaled 2 -> 3 (ready)', () => {
    kubectl('scale', 'deployment/intake-edge', '--replicas=3');
    kubectl('rollout', 'status', 'deployment/intake-edge', '--timeout=300s');
  });
  await sleep(5_000);
  const t = Date.now();
  kubectl('scale', 'deployment/intake-edge', '--replicas=2');
  // A terminating pod is still listed: done when two edge pods remain.
  while (podsOf('edge').length > 2) await sleep(500);
  log(`edges scaled 3 -> 2 (the removed edge gone): ${((Date.now() - t) / 1000).toFixed(1)} s`);
  await sleep(5_000);
  timed('workers rolled (kubectl rollout restart, both replaced)', () => {
    kubectl('rollout', 'restart', 'statefulset/intake-worker');
    kubectl('rollout', 'status', 'statefulset/intake-worker', '--timeout=600s');
  });
  await sleep(15_000);
  stop.abort();
  const load = await loading;
  const acked = load.acked.map((a) => a.id);
  log(
    `load: ${acked.length} acknowledged in ${((Date.now() - loadStarted) / 1000).toFixed(0)} s, ` +
      `${load.requests} requests, ${load.retries} retries, ${load.failed} failed, ` +
      `statuses ${JSON.stringify(load.statuses)}`,
  );
  expect(acked.length).toBeGreaterThan(1000);

  const kafka = testKafka([kafkaBroker]);
  const delivery = await auditDelivery(kafka, ['intake.processed', 'intake.dlq'], acked, 300_000);
  const ackedFile = join(mkdtempSync(join(tmpdir(), 'intake-acked-')), 'acked');
  writeFileSync(ackedFile, acked.join('\n'));
  const report = await runAudit(kafka, kafkaDefaults.topics, { ackedFile });
  log(
    `intake audit: ${report.acked} acknowledged, ${report.lost.length} lost, ` +
      `${report.ackedUnprocessed.length} unprocessed, ${report.duplicates} duplicates; ` +
      `${delivery.delivered} acknowledged ids downstream`,
  );
  expect(report.lost).toEqual([]);
  expect(hasLoss(report)).toBe(false);
  expect(delivery.missing).toEqual([]);
});
