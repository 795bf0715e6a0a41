/**
 * Broker faults where there are replicas: a fleet of its own with three brokers (every topic
 * replication factor 3, min.insync.replicas=2, unclean leader election off), started here
 * beside the one-broker fault fleet. Under steady load through nginx, each scenario ends
 * with `intake audit`: zero acknowledged events lost. With one broker down two in-sync
 * replicas remain, so once its partitions have moved to a replica the edges answer 202 at
 * the first attempt again (checked: every request first sent then). Then the durability
 * settings as the brokers hold them: every topic's replication factor 3, min ISR 2, no
 * unclean leader election; and acks=all seen from the brokers' side (one broker down: 202;
 * two down: 503 on partitions whose leader is up, where acks=1 would get 202), through the
 * fleet's edges and through an edge on each Kafka client.
 */
import { rmSync } from 'node:fs';
import { kafkaDefaults } from '../../lib/config';
import { isRetriable } from '../../lib/errors';
import { TopicPartitions } from '../../lib/kafka/partitioner';
import { KAFKA_CLIENTS } from '../../lib/kafka/port';
import { intakeTopics } from '../../lib/kafka/topics';
import {
  BROKERS3_FLEET,
  apiKey,
  faultBrokers,
  faultKafka,
  fleetCommand,
  fleetCommandAsync,
  pidOf,
  setWorkerLogging,
  workerLogging,
} from './fault-fleet';
import { LOAD_SECONDS, runScenario, sleep } from './scenario';
import type { Ack } from '../../services/cli/load/load';
import { startKafkaTestEdge } from '../support/edge-app';
import { readTopic, testKafka, waitFor } from '../support/kafka-helpers';

const fleet = BROKERS3_FLEET;
const gap = (LOAD_SECONDS * 1000) / 7;
const RAW = 'intake.raw';

/** One event in one request through nginx, tried once: the answer's status. */
async function postOne(id: string, key: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${fleet.httpPort}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey(fleet)}` },
    body: JSON.stringify({ id, type: 'page_view', key, data: { path: '/' } }),
    signal: AbortSignal.timeout(60_000),
  });
  await res.text();
  return res.status;
}

/**
 * Waits until no partition of intake.raw is led by `broker` (killed). A metadata request
 * may go to the killed broker before the client learns it is gone: retriable errors are
 * asked again.
 */
async function leadersLeave(broker: number): Promise<number[]> {
  return waitFor(
    async () => {
      const leaders = await rawLeaders().catch((err: unknown) => {
        if (isRetriable(err)) return undefined;
        throw err;
      });
      return leaders?.every((l) => l >= 0 && l !== broker) ? leaders : undefined;
    },
    {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: `intake.raw's partitions to leave broker ${broker}`,
    },
  );
}

/** Broker ids leading each partition of intake.raw (-1: none). */
async function rawLeaders(): Promise<number[]> {
  const admin = faultKafka(fleet).admin();
  await admin.connect();
  try {
    const topics = await admin.fetchTopicMetadata([RAW]);
    return topics[0]!.partitions.sort((a, b) => a.partitionId - b.partitionId).map((p) => p.leader);
  } finally {
    await admin.disconnect();
  }
}

/** Acks of requests first sent in [from, to): how many, and how many needed a retry. */
function answeredIn(acked: Ack[], from: number, to: number): { acked: number; retried: number } {
  const inWindow = acked.filter((a) => a.sentAt >= from && a.sentAt < to);
  return { acked: inWindow.length, retried: inWindow.filter((a) => a.attempts > 1).length };
}

describe('broker faults with three brokers (RF 3, min ISR 2; real fleet, steady load, audited)', () => {
  beforeAll(() => {
    fleetCommand(fleet, 'down');
    rmSync(fleet.stateDir, { recursive: true, force: true });
    fleetCommand(fleet, 'up', '--detach');
  });

  afterAll(() => {
    fleetCommand(fleet, 'down');
  });

  it('SIGKILL of the leader of intake.raw, restarted later: writes go on at the replicas', async () => {
    let downWindow = { from: 0, to: 0 };
    let killed = 0;
    const r = await runScenario(
      'brokers3-leader-sigkill-restart',
      async () => {
        await sleep(gap * 2);
        killed = (await rawLeaders())[0]!;
        const from = Date.now();
        process.kill(pidOf(`kafka-${killed}`, fleet), 'SIGKILL');
        try {
          // Its partitions move once the controller fences it (broker session timeout, 6 s).
          await leadersLeave(killed);
          const movedAt = Date.now();
          await sleep(Math.max(5000, gap));
          downWindow = { from: movedAt + 2000, to: Date.now() };
        } finally {
          // Back even when the wait failed, so the scenarios after this one have three brokers.
          await fleetCommandAsync(fleet, 'restart', `kafka-${killed}`);
        }
        return { from, to: Date.now() };
      },
      fleet,
    );
    const down = answeredIn(r.acks, downWindow.from, downWindow.to);
    console.log(
      `broker ${killed} down: ${down.acked} events acknowledged from requests first sent then, ${down.retried} after a retry; statuses ${JSON.stringify(r.statuses)}`,
    );
    expect(r.lost).toBe(0);
    expect(r.unprocessed).toBe(0);
    expect(down.acked).toBeGreaterThan(0);
    expect(down.retried).toBe(0);
  });

  /** Each broker restarted cleanly in turn, back in sync before the next. */
  const rollingRestart = async (): Promise<{ from: number; to: number }> => {
    await sleep(gap);
    const from = Date.now();
    for (let id = 1; id <= fleet.brokers; id++) {
      await fleetCommandAsync(fleet, 'restart', `kafka-${id}`);
      await sleep(1000);
    }
    return { from, to: Date.now() };
  };

  it('clean restart of each broker in turn (rolling): nothing lost, no request given up', async () => {
    const r = await runScenario('brokers3-rolling-restart', rollingRestart, fleet);
    expect(r.lost).toBe(0);
    expect(r.unprocessed).toBe(0);
    expect(r.failedRequests).toBe(0);
  });

  it('the same with HML workers: nothing lost, no duplicate for a read_committed reader', async () => {
    // Every group and transaction coordinator moves at least once (one worker on each client).
    const started = workerLogging(fleet);
    await setWorkerLogging('hml', fleet);
    try {
      const r = await runScenario('brokers3-rolling-restart', rollingRestart, fleet);
      expect(r.logging).toBe('hml');
      expect(r.lost).toBe(0);
      expect(r.unprocessed).toBe(0);
      expect(r.duplicates).toBe(0);
      expect(r.failedRequests).toBe(0);
    } finally {
      await setWorkerLogging(started, fleet);
    }
  });

  it('creates every topic with replication factor 3, min.insync.replicas=2, no unclean leader election', async () => {
    const expected = intakeTopics(kafkaDefaults, 1).map((t) => t.topic);
    const admin = faultKafka(fleet).admin();
    await admin.connect();
    try {
      const topics = await admin.fetchTopicMetadata(expected);
      expect(topics.map((t) => t.name).sort()).toEqual([...expected].sort());
      for (const t of topics) {
        for (const p of t.partitions) expect([t.name, p.replicas.length]).toEqual([t.name, 3]);
      }
      const described = await admin.describeTopicConfigs(expected, [
        'min.insync.replicas',
        'unclean.leader.election.enable',
      ]);
      const configs = Object.entries(described)
        .map(([topic, values]) => ({ topic, ...values }))
        .sort((a, b) => a.topic.localeCompare(b.topic));
      expect(configs).toEqual(
        [...expected].sort().map((topic) => ({
          topic,
          'min.insync.replicas': '2',
          'unclean.leader.election.enable': 'false',
        })),
      );
    } finally {
      await admin.disconnect();
    }
  });

  it('produces with acks=all as the brokers see it: one broker down 202, two down 503, nothing answered 202 lost', async () => {
    const run = Date.now().toString(36);
    const [first, second] = [1, 2];
    const survivor = 3;
    process.kill(pidOf(`kafka-${first}`, fleet), 'SIGKILL');
    try {
      const leaders = await leadersLeave(first);
      // One broker down: two in-sync replicas remain, so an acks=all write is acknowledged.
      const acked: string[] = [];
      for (let i = 0; i < 20; i++) {
        const id = `acks-${run}-one-down-${i}`;
        // The edges may still send to the old leader once (their metadata refreshes on error).
        const status = await waitFor(
          async () => ((await postOne(id, `acks-key-${i}`)) === 202 ? 202 : undefined),
          { timeoutMs: 30_000, intervalMs: 500, what: `202 for ${id} with one broker down` },
        );
        expect(status).toBe(202);
        acked.push(id);
      }
      // An edge on each Kafka client (INTAKE_KAFKA_CLIENT), in this process: with one
      // broker down, acks=all is met.
      const edges = await Promise.all(
        KAFKA_CLIENTS.map((client) =>
          startKafkaTestEdge(testKafka(faultBrokers(fleet), client), RAW),
        ),
      );
      try {
        for (const [c, edge] of edges.entries()) {
          const id = `acks-${run}-one-down-${KAFKA_CLIENTS[c]}`;
          const status = await waitFor(
            async () => ((await edge.post(id, id)).status === 202 ? 202 : undefined),
            { timeoutMs: 30_000, intervalMs: 500, what: `202 for ${id} with one broker down` },
          );
          expect(status).toBe(202);
          acked.push(id);
        }
        // Keys whose partition the survivor leads: an acks=1 write there would be answered
        // by the survivor alone; acks=all needs a second in-sync replica, and with the
        // second broker down (and the controllers' quorum with it) none can be had.
        const partitions = new TopicPartitions();
        const admin = faultKafka(fleet).admin();
        await admin.connect();
        await partitions.refresh(admin, [RAW]).finally(() => admin.disconnect());
        const keys = Array.from({ length: 200 }, (_, i) => `acks-key-${run}-${i}`)
          .filter((key) => leaders[partitions.partition(RAW, key)] === survivor)
          .slice(0, 6);
        expect(keys.length).toBeGreaterThan(0);
        process.kill(pidOf(`kafka-${second}`, fleet), 'SIGKILL');
        const statuses = await Promise.all(
          keys.map((key, i) => postOne(`acks-${run}-two-down-${i}`, key)),
        );
        console.log(
          `acks=all: one broker down, ${acked.length} answered 202; two down, answers ${JSON.stringify(statuses)} for ${keys.length} events on partitions the survivor leads`,
        );
        expect(statuses).toEqual(keys.map(() => 503));
        // The same from each client's producer: 503 with Retry-After, never 202.
        for (const [c, edge] of edges.entries()) {
          const answers = [];
          for (const [i, key] of keys.entries())
            answers.push(await edge.post(`acks-${run}-two-down-${KAFKA_CLIENTS[c]}-${i}`, key));
          console.log(
            `acks=all on ${KAFKA_CLIENTS[c]}: two down, answers ${JSON.stringify(answers)}`,
          );
          expect({ client: KAFKA_CLIENTS[c], answers }).toEqual({
            client: KAFKA_CLIENTS[c],
            answers: keys.map(() => ({ status: 503, retryAfter: expect.stringMatching(/^\d+$/) })),
          });
        }
      } finally {
        // A client may wait on the dead brokers to close: do not hold the test up for it.
        await Promise.all(
          edges.map((edge) => Promise.race([edge.close().catch(() => undefined), sleep(10_000)])),
        );
      }

      await Promise.all(
        [first, second].map((id) => fleetCommandAsync(fleet, 'restart', `kafka-${id}`)),
      );
      const wanted = new Set(acked);
      const found = new Set<string>();
      await readTopic(faultKafka(fleet), RAW, (messages) => {
        for (const m of messages) {
          const id = m.headers['intake-id'] ?? '';
          if (wanted.has(id)) found.add(id);
        }
        return found.size >= wanted.size;
      });
      expect(acked.filter((id) => !found.has(id))).toEqual([]);
    } finally {
      // Whatever failed above, leave three brokers for the next test file.
      for (const id of [first, second]) {
        try {
          pidOf(`kafka-${id}`, fleet);
        } catch {
          await fleetCommandAsync(fleet, 'restart', `kafka-${id}`).catch(() => undefined);
        }
      }
    }
  });
});
