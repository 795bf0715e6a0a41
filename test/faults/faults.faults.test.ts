/**
 * Fault scenarios under steady load through nginx on a real fleet, each ending with
 * `intake audit`: zero acknowledged events lost, always. `npm test` runs each for 20 s;
 * `npm run faults` for 60 s and writes docs/faults.md from the results.
 */
import { fleetCliAsync } from './fault-fleet';
import { GAP_MS, freeze, killAlternating, killBroker, rollingRestart } from './injections';
import { FULL, runScenario, sleep } from './scenario';

/** SIGKILL of an edge, restarted 500 ms later, 5 times, alternating edges. */
const killEdges = (): ReturnType<typeof killAlternating> =>
  killAlternating(['edge-1', 'edge-2'], 5);

/**
 * Runs `fn` with the fleet's edges on another Kafka client (`INTAKE_KAFKA_CLIENT`, which
 * the CLI gives the processes it starts): both edges are restarted with it, one after the
 * other, and at the end restarted with the suite's client again.
 */
async function withEdgeClient<T>(client: string, fn: () => Promise<T>): Promise<T> {
  const before = process.env.INTAKE_KAFKA_CLIENT;
  const restartEdges = async (): Promise<void> => {
    for (const edge of ['edge-1', 'edge-2']) await fleetCliAsync('restart', edge);
  };
  process.env.INTAKE_KAFKA_CLIENT = client;
  try {
    await restartEdges();
    return await fn();
  } finally {
    if (before === undefined) delete process.env.INTAKE_KAFKA_CLIENT;
    else process.env.INTAKE_KAFKA_CLIENT = before;
    await restartEdges();
  }
}

describe('fault scenarios (real fleet, steady load, audited)', () => {
  it('edge SIGKILL, 5 times, alternating edges', async () => {
    const r = await runScenario('edge-sigkill-x5', killEdges);
    expect(r.lost).toBe(0);
    expect(r.acknowledged).toBeGreaterThan(0);
  });

  // The edges' second client, in the full run only (`npm run faults`: INTAKE_FAULTS_FULL);
  // with INTAKE_KAFKA_CLIENT=platformatic the whole suite runs on it.
  (FULL && process.env.INTAKE_KAFKA_CLIENT !== 'platformatic' ? it : it.skip)(
    'edge SIGKILL, 5 times, alternating edges on @platformatic/kafka',
    async () => {
      const r = await withEdgeClient('platformatic', () =>
        runScenario('edge-sigkill-x5-platformatic', killEdges),
      );
      expect(r.lost).toBe(0);
      expect(r.acknowledged).toBeGreaterThan(0);
    },
  );

  it('worker SIGKILL, 5 times, alternating workers', async () => {
    const r = await runScenario('worker-sigkill-x5', () =>
      killAlternating(['worker-1', 'worker-2'], 5),
    );
    expect(r.lost).toBe(0);
    expect(r.unprocessed).toBe(0);
  });

  it('worker SIGSTOP beyond the session timeout: the group moves on, the resumed worker loses nothing', async () => {
    // The workers' session timeout is 30 s: the group rebalances without it.
    const r = await runScenario('worker-sigstop-40s', () => freeze('worker-1', 40_000));
    expect(r.lost).toBe(0);
    expect(r.unprocessed).toBe(0);
  });

  it('broker SIGKILL and restart with its data kept: 503s while down, nothing acknowledged lost', async () => {
    const r = await runScenario('broker-sigkill-restart', () => killBroker(5000));
    expect(r.lost).toBe(0);
    expect(r.statuses['202']).toBeGreaterThan(0);
    // While the broker was down the edges answered 503 (never another error, nor a hang
    // past the load's 30 s timeout), and every request was retried to a 202 in the end.
    expect(r.statusesDuring['503']).toBeGreaterThan(0);
    expect(Object.keys(r.statusesDuring).filter((s) => s !== '202' && s !== '503')).toEqual([]);
    expect(r.failedRequests).toBe(0);
  });

  it('clean broker restart', async () => {
    const r = await runScenario('broker-clean-restart', async () => {
      await sleep(GAP_MS * 2);
      const from = Date.now();
      await fleetCliAsync('restart', 'kafka');
      return { from, to: Date.now() };
    });
    expect(r.lost).toBe(0);
  });

  it('rolling restart of every edge and worker: clients see only retried errors', async () => {
    const r = await runScenario('rolling-restart', () =>
      rollingRestart(['edge-1', 'edge-2', 'worker-1', 'worker-2']),
    );
    expect(r.lost).toBe(0);
    expect(r.failedRequests).toBe(0);
  });
});
