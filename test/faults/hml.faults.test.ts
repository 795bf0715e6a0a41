/**
 * The worker-side fault scenarios again with hybrid message logging (`INTAKE_LOGGING=hml`:
 * each chunk's outputs and input offsets in one Kafka transaction, retried ids skipped):
 * besides zero acknowledged events lost, a `read_committed` reader (`intake audit`) must
 * find zero duplicates downstream. The fleet's workers switch to HML for this file and
 * back after it. (`INTAKE_FAULTS_LOGGING=hml npm run faults` runs every scenario with HML.)
 */
import { faultProxy, setWorkerLogging, workerLogging } from './fault-fleet';
import {
  freeze,
  killAlternating,
  killBroker,
  resetConnections,
  rollingRestart,
} from './injections';
import { runScenario } from './scenario';
import type { ScenarioRun } from './scenario';

/** The mode the fleet was started with (`INTAKE_FAULTS_LOGGING`), restored after this file. */
let started: 'sbml' | 'hml';

beforeAll(async () => {
  started = workerLogging();
  if (started !== 'hml') await setWorkerLogging('hml');
}, 120_000);

afterAll(async () => {
  await faultProxy().setMode({ kind: 'pass' });
  if (started !== 'hml') await setWorkerLogging(started);
}, 120_000);

function expectExactlyOnce(r: ScenarioRun): void {
  expect(r.logging).toBe('hml');
  expect(r.acknowledged).toBeGreaterThan(0);
  expect(r.lost).toBe(0);
  expect(r.unprocessed).toBe(0);
  expect(r.duplicates).toBe(0);
}

describe('fault scenarios with HML workers (real fleet, steady load, audited read_committed)', () => {
  it('worker SIGKILL, 5 times, alternating workers: nothing lost, nothing twice', async () => {
    expectExactlyOnce(
      await runScenario('worker-sigkill-x5', () => killAlternating(['worker-1', 'worker-2'], 5)),
    );
  });

  it('worker SIGSTOP beyond the session timeout: the resumed zombie is fenced, nothing twice', async () => {
    expectExactlyOnce(await runScenario('worker-sigstop-40s', () => freeze('worker-1', 40_000)));
  });

  it('broker SIGKILL and restart with its data kept: nothing lost, nothing twice', async () => {
    expectExactlyOnce(await runScenario('broker-sigkill-restart', () => killBroker(5000)));
  });

  it('every fleet<->Kafka connection reset, 4 times: nothing lost, nothing twice', async () => {
    expectExactlyOnce(await runScenario('kafka-connection-resets-x4', () => resetConnections(4)));
  });

  it('rolling restart of every edge and worker: nothing lost, nothing twice', async () => {
    expectExactlyOnce(
      await runScenario('rolling-restart', () =>
        rollingRestart(['edge-1', 'edge-2', 'worker-1', 'worker-2']),
      ),
    );
  });
});
