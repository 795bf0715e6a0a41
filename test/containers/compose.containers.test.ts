/**
 * The container test: the images and docker-compose.yml as users run them. Builds the
 * base images (local stand-ins where no registry is reachable) and Intake's images, starts
 * the compose stack (Kafka, topic-init, nginx, 2 edges, 2 workers) as its own compose
 * project, posts events through nginx on 127.0.0.1:38080 while one worker container and
 * one edge container are killed (`docker kill`) and started again, and checks that every
 * acknowledged id reaches intake.processed (read from the broker published on
 * 127.0.0.1:39092) and `intake audit` finds nothing lost. The stack is removed with its volumes at the end.
 *
 * Run: `npm run test:containers` (needs a running Docker engine and docker-compose).
 * INTAKE_CONTAINER_SKIP_BUILD=1 uses the images as they are; INTAKE_CONTAINER_KEEP=1
 * leaves the stack running for a look.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaDefaults } from '../../lib/config';
import { hasLoss } from '../../services/cli/audit/analyze';
import { runAudit } from '../../services/cli/audit/audit';
import { ROOT } from '../support/test-env';
import { auditDelivery } from '../support/audit';
import { testKafka, waitFor } from '../support/kafka-helpers';

const project = 'intake-containers-test';
const httpPort = Number(process.env.INTAKE_COMPOSE_HTTP_PORT ?? 38080);
const kafkaPort = Number(process.env.INTAKE_COMPOSE_KAFKA_PORT ?? 39092);
const apiKey = 'containers-test-key';
const composeEnv = {
  ...process.env,
  INTAKE_API_KEY: apiKey,
  INTAKE_COMPOSE_HTTP_PORT: String(httpPort),
  INTAKE_COMPOSE_KAFKA_PORT: String(kafkaPort),
};
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const log = (message: string): void => {
  process.stderr.write(`containers: ${message}\n`);
};

/** Runs a command in the repository; throws with its output when it fails. */
function run(command: string, args: string[], timeoutMs = 600_000): string {
  const result = spawnSync(command, args, {
    cwd: ROOT,
    env: composeEnv,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.status ?? result.signal ?? String(result.error)}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

const compose = (...args: string[]): string => run('docker-compose', ['-p', project, ...args]);

/** The container ids of one compose service. */
const containers = (service: string): string[] =>
  compose('ps', '-q', service).split('\n').filter(Boolean);

function health(id: string): string {
  return run('docker', ['inspect', '-f', '{{.State.Health.Status}}', id]).trim();
}

async function waitHealthy(services: string[], timeoutMs = 180_000): Promise<void> {
  await waitFor(
    () => services.every((s) => containers(s).every((id) => health(id) === 'healthy')),
    { timeoutMs, intervalMs: 1000, what: `healthy ${services.join(', ')}` },
  );
}

interface PostStats {
  acknowledged: string[];
  requests: number;
  retries: number;
  statuses: Record<string, number>;
}

/**
 * A well-behaved client: posts a batch and retries 502/503/504/429 and connection errors
 * with the same ids (a resend is idempotent by id) until it is acknowledged.
 */
async function postBatch(ids: string[], stats: PostStats): Promise<void> {
  const body = JSON.stringify(
    ids.map((id, i) => ({ id, type: 'page_view', key: `visitor-${i % 7}`, data: { path: '/' } })),
  );
  for (let attempt = 0; attempt < 120; attempt++) {
    stats.requests++;
    let status = 'error';
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(30_000),
      });
      status = String(res.status);
      if (res.status === 202) {
        const json = (await res.json()) as { accepted: { id: string }[]; rejected: unknown[] };
        stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
        stats.acknowledged.push(...json.accepted.map((a) => a.id));
        return;
      }
      await res.arrayBuffer();
      if (![429, 502, 503, 504].includes(res.status))
        throw new Error(`unexpected status ${res.status}`);
    } catch (err) {
      if (status !== 'error') throw err;
    }
    stats.statuses[status] = (stats.statuses[status] ?? 0) + 1;
    stats.retries++;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`batch ${ids[0]} was never acknowledged`);
}

/** Posts batches with `concurrency` clients until `stop()` is called. */
function startPosting(
  stats: PostStats,
  concurrency = 4,
  batchSize = 20,
): { stop: () => Promise<void> } {
  let stopped = false;
  let next = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (!stopped) {
      const b = next++;
      await postBatch(
        Array.from({ length: batchSize }, (_, i) => `ct-${b}-${i}`),
        stats,
      );
    }
  });
  return {
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

describe('docker-compose stack', () => {
  const started = Date.now();

  beforeAll(() => {
    if (process.env.INTAKE_CONTAINER_SKIP_BUILD !== '1') {
      let t = Date.now();
      run('bash', ['infra/images/build-base.sh']);
      log(`base images ready in ${seconds(t)}`);
      t = Date.now();
      run('bash', ['infra/images/build.sh']);
      log(`intake images built in ${seconds(t)}`);
    }
    compose('down', '-v', '--remove-orphans');
  });

  afterAll(() => {
    if (process.env.INTAKE_CONTAINER_KEEP === '1') return;
    try {
      compose('down', '-v', '--remove-orphans');
    } catch (err) {
      log(`compose down failed: ${String(err)}`);
    }
    log(`whole run (build, up, test, down) took ${seconds(started)}`);
  });

  it('comes up healthy and answers through nginx', async () => {
    const t = Date.now();
    compose('up', '-d');
    await waitHealthy(['kafka', 'edge', 'worker-1', 'worker-2', 'nginx']);
    log(`stack healthy ${seconds(t)} after compose up`);
    expect(containers('edge')).toHaveLength(2);
    const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(res.status).toBe(200);
    const unauthorized = await fetch(`http://127.0.0.1:${httpPort}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"page_view","key":"v","data":{"path":"/"}}',
    });
    expect(unauthorized.status).toBe(401);
  });

  it('loses no acknowledged event when a worker and an edge container are killed', async () => {
    const stats: PostStats = { acknowledged: [], requests: 0, retries: 0, statuses: {} };
    const posting = startPosting(stats);
    await waitFor(() => stats.acknowledged.length >= 1000, {
      timeoutMs: 60_000,
      what: '1000 acknowledged events before the kills',
    });

    const [worker] = containers('worker-1');
    const [edge] = containers('edge');
    run('docker', ['kill', worker!, edge!]);
    const atKill = stats.acknowledged.length;
    log(`killed worker-1 and one edge after ${atKill} acknowledged events`);
    await new Promise((r) => setTimeout(r, 8000));
    const whileDown = stats.acknowledged.length - atKill;
    log(`${whileDown} acknowledged while they were down`);

    run('docker', ['start', worker!, edge!]);
    await waitHealthy(['edge', 'worker-1']);
    const atRestart = stats.acknowledged.length;
    await waitFor(() => stats.acknowledged.length >= atRestart + 1000, {
      timeoutMs: 60_000,
      what: '1000 more acknowledged events after the restarts',
    });
    await posting.stop();
    log(
      `posted: ${stats.acknowledged.length} acknowledged, ${stats.requests} requests, ${stats.retries} retries, statuses ${JSON.stringify(stats.statuses)}`,
    );
    expect(whileDown).toBeGreaterThan(0);

    const kafka = testKafka([`127.0.0.1:${kafkaPort}`]);
    // Wait until every acknowledged id is downstream (or time out), then `intake audit`.
    const audit = await auditDelivery(kafka, ['intake.processed'], stats.acknowledged, 180_000);
    const ackedFile = join(mkdtempSync(join(tmpdir(), 'intake-acked-')), 'acked');
    writeFileSync(ackedFile, stats.acknowledged.join('\n'));
    const report = await runAudit(kafka, kafkaDefaults.topics, { ackedFile });
    log(
      `intake audit: ${report.acked} acknowledged, ${report.lost.length} lost, ${report.ackedUnprocessed.length} unprocessed, ${report.duplicates} duplicates (${audit.delivered} ids in intake.processed)`,
    );
    expect(hasLoss(report)).toBe(false);
    expect(audit.missing).toEqual([]);
  });
});
