/**
 * The notes' scaling argument, measured: one long-lived stream at a steady rate into an
 * edge, four worker processes in one group behind the buffering topic (8 partitions).
 *
 * - Keyed by visitor, the stream spreads over every partition and so over every worker:
 *   each worker processes a share (at least 15%).
 * - Pinned to one key (one partition), the same stream is processed by one worker while
 *   three of four stay idle: what sending a stream straight to one collector looks like.
 *
 * Both distributions are printed for the report.
 */
import type { AddressInfo } from 'node:net';
import { mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Admin } from '../../../lib/kafka/port';
import { StreamClient } from '../../../lib/client/stream-client';
import { batchingDefaults } from '../../../lib/kafka/batching-producer';
import { bodyDefaults } from '../../../services/edge/ingest/body';
import { KafkaSink } from '../../../services/edge/sink';
import { streamDefaults } from '../../../services/edge/stream/stream-session';
import { WsStreamServer } from '../../../services/edge/stream/ws-stream';
import { attachUpgrades } from '../../../services/edge/upgrades';
import { startTestApp } from '../../support/edge-app';
import type { TestApp } from '../../support/edge-app';
import { silentLogger } from '../../support/fakes';
import { randomName, testKafka, waitFor } from '../../support/kafka-helpers';
import { ROOT, TEST_BROKER } from '../../support/test-env';
import { WorkerProcess, createWorkerTopics } from '../../support/worker-process';

const WORKERS = 4;
const RATE = 1500; // events per second, steady
const SECONDS = 6;

describe('one stream, four workers (real broker, real worker processes)', () => {
  const kafka = testKafka(TEST_BROKER.brokers);
  const stateDir = resolve(ROOT, '.intake', randomName('test-scaling'));
  let admin: Admin;
  let sink: KafkaSink;
  let app: TestApp;
  let streams: WsStreamServer;
  let url: string;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    mkdirSync(stateDir, { recursive: true });
    admin = kafka.admin();
    await admin.connect();
    const topics = await createWorkerTopics(admin, 8);
    const groupId = randomName('scaling');
    for (let i = 1; i <= WORKERS; i++) {
      workers.push(new WorkerProcess(`scale-worker-${i}`, { topics, groupId, stateDir }));
    }
    await Promise.all(workers.map((w) => w.start()));
    await Promise.all(workers.map((w) => w.ready()));
    await waitFor(
      async () => {
        const [group] = await admin.describeGroups([groupId]);
        return group?.state === 'Stable' && group.members.length === WORKERS;
      },
      { what: 'all four workers in the group' },
    );
    sink = new KafkaSink({
      producers: [kafka.producer()],
      admin: kafka.admin(),
      topic: topics.raw,
      logger: silentLogger(),
      options: batchingDefaults,
    });
    await sink.start();
    const limits = { ...bodyDefaults, ...streamDefaults };
    app = await startTestApp({ sink });
    streams = new WsStreamServer({
      sink,
      logger: silentLogger(),
      instance: 'edge-scaling',
      defaultSource: 'scaling',
      limits,
      maxMessageBytes: 1024 * 1024,
      pingIntervalMs: 10_000,
      idleTimeoutMs: 60_000,
      isDraining: () => false,
    });
    attachUpgrades(
      app.server,
      { '/v1/stream': streams },
      {
        isDraining: () => false,
        defaultSource: 'scaling',
      },
    );
    url = `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}/v1/stream`;
  });

  afterAll(async () => {
    await streams.close(1000);
    await app.close();
    await sink.stop();
    await Promise.all(workers.map((w) => w.kill('SIGTERM')));
    await admin.disconnect();
    rmSync(stateDir, { recursive: true, force: true });
  });

  /** Streams RATE events a second for SECONDS; returns each worker's share of them. */
  async function streamAndMeasure(key: (i: number) => string): Promise<number[]> {
    const before = await Promise.all(workers.map((w) => w.metric('intake_worker_consumed_total')));
    const client = new StreamClient({ url });
    const total = RATE * SECONDS;
    const tick = 50;
    const perTick = (RATE * tick) / 1000;
    const started = Date.now();
    for (let i = 0; i < total; i++) {
      if (i % perTick === 0) {
        const due = started + (i / perTick) * tick;
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      }
      await client.send({ type: 'stream_tick', key: key(i), data: { i } });
    }
    await client.drain();
    client.close();
    let deltas: number[] = [];
    await waitFor(
      async () => {
        const now = await Promise.all(workers.map((w) => w.metric('intake_worker_consumed_total')));
        deltas = now.map((n, i) => n - before[i]!);
        return deltas.reduce((a, b) => a + b, 0) >= total;
      },
      { timeoutMs: 60_000, what: 'the workers to consume the stream' },
    );
    const sum = deltas.reduce((a, b) => a + b, 0);
    return deltas.map((d) => d / sum);
  }

  const show = (shares: number[]): string =>
    shares.map((s, i) => `worker-${i + 1} ${(s * 100).toFixed(1)}%`).join(', ');

  it('spreads a stream keyed by visitor over every worker', async () => {
    const shares = await streamAndMeasure((i) => `visitor-${i % 997}`);
    console.log(`one stream through the buffer (${RATE} ev/s, ${SECONDS} s): ${show(shares)}`);
    for (const share of shares) expect(share).toBeGreaterThanOrEqual(0.15);
  });

  it('leaves three of four workers idle when the stream is pinned to one partition', async () => {
    const shares = await streamAndMeasure(() => 'one-collector');
    console.log(`one stream pinned to one partition: ${show(shares)}`);
    expect(Math.max(...shares)).toBe(1);
    expect(shares.filter((s) => s === 0)).toHaveLength(WORKERS - 1);
  });
});
