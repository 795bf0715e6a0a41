/**
 * The container test: the images and docker-compose.yml as users run them, driven
 * through testcontainers. Builds the base images (local stand-ins where no registry is
 * reachable) and Intake's images, brings the compose stack up (Kafka, topic-init, nginx,
 * 2 edges, 2 workers) as its own compose project with `DockerComposeEnvironment`, waiting
 * on every container's health check, sends one-way UDP datagrams to nginx on
 * 127.0.0.1:23080/udp (each event must reach intake.raw), posts events through nginx on
 * 127.0.0.1:23080 while one worker container and one edge container are killed
 * (SIGKILL) and started again
 * (the library waits for their health checks again), and checks that every acknowledged
 * id reaches intake.processed (read from the broker published on 127.0.0.1:23092) and
 * `intake audit` finds nothing lost. The test's ports (test-env.ts: `COMPOSE_STACK`) are
 * not the file's defaults (38080, 39092): they stay out of the ephemeral port range. The stack goes down through the library, with its
 * volumes; a run that died first is taken down by the next one before it starts
 * (test/support/containers.ts says why Ryuk is off).
 *
 * Run: `npm run test:containers` (needs a running Docker engine and Docker Compose, v2 or
 * the standalone v1). INTAKE_CONTAINER_SKIP_BUILD=1 uses the images as they are;
 * INTAKE_CONTAINER_KEEP=1 leaves the stack running for a look.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerComposeEnvironment, Wait, getContainerRuntimeClient } from 'testcontainers';
import type { StartedDockerComposeEnvironment, StartedTestContainer } from 'testcontainers';
import { kafkaDefaults } from '../../lib/config';
import { hasLoss } from '../../services/cli/audit/analyze';
import { runAudit } from '../../services/cli/audit/audit';
import { COMPOSE_STACK, ROOT } from '../support/test-env';
import { auditDelivery } from '../support/audit';
import {
  composeContainerName,
  composeExecutable,
  withoutRyukUnlessAsked,
} from '../support/containers';
import { readTopic, testKafka, waitFor } from '../support/kafka-helpers';
import { sendDatagram } from '../support/udp';

const project = 'intake-containers-test';
const httpPort = Number(process.env.INTAKE_COMPOSE_HTTP_PORT ?? COMPOSE_STACK.httpPort);
const kafkaPort = Number(process.env.INTAKE_COMPOSE_KAFKA_PORT ?? COMPOSE_STACK.kafkaPort);
const apiKey = 'containers-test-key';
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const log = (message: string): void => {
  process.stderr.write(`containers: ${message}\n`);
};

/** Runs an image build script in the repository; throws with its output when it fails. */
function build(script: string): void {
  const result = spawnSync('bash', [script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(
      `${script} failed (${result.status ?? result.signal ?? String(result.error)}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

/** docker-compose.yml as this test runs it: its own project, ports and key. */
function composeEnvironment(): DockerComposeEnvironment {
  const executable = composeExecutable();
  return new DockerComposeEnvironment(ROOT, 'docker-compose.yml')
    .withProjectName(project)
    .withEnvironment({
      INTAKE_API_KEY: apiKey,
      INTAKE_COMPOSE_HTTP_PORT: String(httpPort),
      INTAKE_COMPOSE_KAFKA_PORT: String(kafkaPort),
    })
    .withDefaultWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(180_000)
    .withClientOptions(executable ? { executable } : {});
}

/** `docker-compose down -v` of this project, through the library (a no-op when down). */
async function composeDown(): Promise<void> {
  const client = await getContainerRuntimeClient();
  const executable = composeExecutable();
  await client.compose.down(
    {
      filePath: ROOT,
      files: 'docker-compose.yml',
      projectName: project,
      ...(executable ? { executable } : {}),
    },
    { removeVolumes: true, timeout: 0 },
  );
}

/** SIGKILLs a container (`docker kill`; its restart policy leaves it down). */
async function kill(container: StartedTestContainer): Promise<void> {
  const client = await getContainerRuntimeClient();
  await client.container.dockerode.getContainer(container.getId()).kill();
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
  let stack: StartedDockerComposeEnvironment | undefined;

  beforeAll(async () => {
    withoutRyukUnlessAsked();
    if (process.env.INTAKE_CONTAINER_SKIP_BUILD !== '1') {
      let t = Date.now();
      build('infra/images/build-base.sh');
      log(`base images ready in ${seconds(t)}`);
      t = Date.now();
      build('infra/images/build.sh');
      log(`intake images built in ${seconds(t)}`);
    }
    await composeDown();
  });

  afterAll(async () => {
    if (process.env.INTAKE_CONTAINER_KEEP === '1') return;
    try {
      if (stack) await stack.down({ removeVolumes: true, timeout: 10_000 });
      else await composeDown();
    } catch (err) {
      log(`compose down failed: ${String(err)}`);
    }
    log(`whole run (build, up, test, down) took ${seconds(started)}`);
  });

  it('comes up healthy and answers through nginx', async () => {
    const t = Date.now();
    stack = await composeEnvironment().up();
    log(`stack healthy ${seconds(t)} after compose up`);
    for (const [service, index] of [
      ['kafka', 1],
      ['nginx', 1],
      ['edge', 1],
      ['edge', 2],
      ['worker-1', 1],
      ['worker-2', 1],
    ] as const) {
      expect(stack.getContainer(composeContainerName(project, service, index)).getId()).toMatch(
        /^[0-9a-f]{64}$/,
      );
    }
    const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(res.status).toBe(200);
    const unauthorized = await fetch(`http://127.0.0.1:${httpPort}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"type":"page_view","key":"v","data":{"path":"/"}}',
    });
    expect(unauthorized.status).toBe(401);
  });

  it('takes one-way UDP datagrams through nginx on the HTTP port number', async () => {
    const run = Date.now().toString(36);
    const ids = Array.from({ length: 20 }, (_, i) => `ct-udp-${run}-${i}`);
    for (const [i, id] of ids.entries()) {
      await sendDatagram(httpPort, JSON.stringify({ id, type: 'telemetry', key: `device-${i}` }));
      await new Promise((r) => setTimeout(r, 10));
    }
    const wanted = new Set(ids);
    const found = new Set<string>();
    await readTopic(testKafka([`127.0.0.1:${kafkaPort}`]), 'intake.raw', (messages) => {
      for (const m of messages)
        if (wanted.has(m.headers['intake-id'] ?? '')) found.add(m.headers['intake-id']!);
      return found.size >= wanted.size;
    });
    log(`udp: ${found.size} of ${ids.length} datagrams' events in intake.raw`);
    expect(ids.filter((id) => !found.has(id))).toEqual([]);
  });

  it('loses no acknowledged event when a worker and an edge container are killed', async () => {
    const stats: PostStats = { acknowledged: [], requests: 0, retries: 0, statuses: {} };
    const posting = startPosting(stats);
    await waitFor(() => stats.acknowledged.length >= 1000, {
      timeoutMs: 60_000,
      what: '1000 acknowledged events before the kills',
    });

    const worker = stack!.getContainer(composeContainerName(project, 'worker-1'));
    const edge = stack!.getContainer(composeContainerName(project, 'edge'));
    await Promise.all([kill(worker), kill(edge)]);
    const atKill = stats.acknowledged.length;
    log(`killed worker-1 and one edge after ${atKill} acknowledged events`);
    await new Promise((r) => setTimeout(r, 8000));
    const whileDown = stats.acknowledged.length - atKill;
    log(`${whileDown} acknowledged while they were down`);

    // restart() starts a stopped container and waits for its health check again.
    await Promise.all([worker.restart(), edge.restart()]);
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
