/**
 * Broker faults where there are replicas: a fleet of its own with three brokers (every topic
 * replication factor 3, min.insync.replicas=2, unclean leader election off), started here
 * beside the one-broker fault fleet. Under steady load through nginx, each scenario ends
 * with `intake audit`: zero acknowledged events lost. With one broker down two in-sync
 * replicas remain, so once its partitions have moved to a replica the edges answer 202 at
 * the first attempt again (checked: every request first sent then).
 */
import { rmSync } from 'node:fs';
import { BROKERS3_FLEET, faultKafka, fleetCommand, fleetCommandAsync, pidOf } from './fault-fleet';
import { LOAD_SECONDS, runScenario, sleep } from './scenario';
import type { Ack } from '../../services/cli/load/load';
import { waitFor } from '../support/kafka-helpers';

const fleet = BROKERS3_FLEET;
const gap = (LOAD_SECONDS * 1000) / 7;
const RAW = 'intake.raw';

/** Broker ids leading each partition of intake.raw (-1: none). */
async function rawLeaders(): Promise<number[]> {
  const admin = faultKafka(fleet).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [RAW] });
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
        // Its partitions move once the controller fences it (broker session timeout, 6 s).
        await waitFor(async () => (await rawLeaders()).every((l) => l >= 0 && l !== killed), {
          timeoutMs: 60_000,
          intervalMs: 250,
          what: `intake.raw's partitions to leave broker ${killed}`,
        });
        const movedAt = Date.now();
        await sleep(Math.max(5000, gap));
        downWindow = { from: movedAt + 2000, to: Date.now() };
        await fleetCommandAsync(fleet, 'restart', `kafka-${killed}`);
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

  it('clean restart of each broker in turn (rolling): nothing lost, no request given up', async () => {
    const r = await runScenario(
      'brokers3-rolling-restart',
      async () => {
        await sleep(gap);
        const from = Date.now();
        for (let id = 1; id <= fleet.brokers; id++) {
          await fleetCommandAsync(fleet, 'restart', `kafka-${id}`); // back in sync before the next
          await sleep(1000);
        }
        return { from, to: Date.now() };
      },
      fleet,
    );
    expect(r.lost).toBe(0);
    expect(r.unprocessed).toBe(0);
    expect(r.failedRequests).toBe(0);
  });
});
