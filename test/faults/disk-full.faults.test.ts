/**
 * Disk full under a worker's outbound log, under steady load through nginx: worker-1's
 * log lives on a small tmpfs that the scenario fills to the last block and later frees.
 * The worker must stop taking input it cannot log (no commit past what is logged), say so
 * (/readyz 503, `intake_worker_outbound_log_failing` 1, failures counted), stay alive,
 * and resume once space is free; the audit then finds nothing acknowledged lost and
 * nothing unprocessed. Skips loudly where a tmpfs cannot be mounted (needs root); fails
 * there under CI=true (test/support/components.ts).
 *
 * Setup (before the load): worker-1 is stopped (it drains its log), its log directory is
 * set aside (it must be empty: checked), a tmpfs is mounted in its place and worker-1 is
 * started on it with a fresh log, whose file is small. Filling the tmpfs as the load starts
 * leaves LMDB no room to grow the file: appends fail while the load runs.
 *
 * SBML only: with HML (`INTAKE_FAULTS_LOGGING=hml`) a worker keeps no local log, so there
 * is no disk to fill; the file is skipped, and says so.
 */
import { existsSync, renameSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { httpGet, readCounter } from '../../services/cli/fleet/probe';
import { stopProcess } from '../../services/cli/fleet/processes';
import { isAlive } from '../../services/cli/fleet/state';
import { openOutboundLog } from '../../services/worker/delivery/sbml/outbound-log';
import { waitFor } from '../support/kafka-helpers';
import { silentLogger } from '../support/fakes';
import { requireComponent } from '../support/components';
import { fillUp, mountTmpfs, tmpfsUnavailable, unmount } from '../support/tmpfs';
import { FAULT_FLEET, fleetCliAsync, pidOf, workerLogging } from './fault-fleet';
import { runScenario, sleep } from './scenario';

const sbml = workerLogging() === 'sbml';
if (!sbml) console.log('disk-full: skipped, the workers run with HML (no local outbound log)');
const itOnTmpfs =
  !sbml || requireComponent('tmpfs', tmpfsUnavailable(), 'disk-full fault scenario') ? it : it.skip;

const WORKER = 'worker-1';
const adminPort = FAULT_FLEET.workerBasePort; // worker-1
const logDir = join(FAULT_FLEET.stateDir, WORKER, 'outbound-log');
const setAside = `${logDir}.before-tmpfs`;
const TMPFS_BYTES = 64 * 1024 * 1024;

async function entriesIn(dir: string): Promise<number> {
  const log = await openOutboundLog({
    dir,
    maxEntries: 1e9,
    maxBytes: 1e12,
    logger: silentLogger(),
  });
  const { entries } = log.stats();
  await log.close();
  return entries;
}

/** Stops worker-1 (SIGTERM: it finishes its chunk and drains its log) and waits until gone. */
async function stopWorker(): Promise<void> {
  await stopProcess(pidOf(WORKER));
}

async function readiness(): Promise<{ status: number; problem: string | null }> {
  const answer = await httpGet(adminPort, '/readyz');
  const body = JSON.parse(answer.body) as { details?: { problem?: string | null } };
  return { status: answer.status, problem: body.details?.problem ?? null };
}

(sbml ? describe : describe.skip)(
  'fault: disk full under a worker outbound log (real fleet, steady load, audited)',
  () => {
    let mounted = false;

    afterAll(async () => {
      if (!mounted) return;
      // Back to the fleet's own directory: stop worker-1 (it drains), keep anything its
      // tmpfs log still holds, unmount, restart it, so later scenarios find the usual fleet.
      await stopWorker();
      const kept = `${logDir}.from-tmpfs`;
      rmSync(kept, { recursive: true, force: true });
      const { cpSync } = await import('node:fs');
      cpSync(logDir, kept, { recursive: true, filter: (src) => !src.endsWith('filler') });
      unmount(logDir);
      rmSync(logDir, { recursive: true, force: true });
      renameSync(kept, logDir);
      rmSync(setAside, { recursive: true, force: true });
      await fleetCliAsync('restart', WORKER);
    });

    itOnTmpfs(
      'the worker pauses and reports unhealthy while its log cannot write, then resumes without loss',
      async () => {
        await stopWorker();
        const left = existsSync(logDir) ? await entriesIn(logDir) : 0;
        if (left > 0)
          throw new Error(`${WORKER}'s outbound log still holds ${left} entries after its drain`);
        rmSync(setAside, { recursive: true, force: true });
        if (existsSync(logDir)) renameSync(logDir, setAside);
        mountTmpfs(logDir, TMPFS_BYTES);
        mounted = true;
        await fleetCliAsync('restart', WORKER);

        const seen = {
          notReady: 0,
          problem: '',
          failingGauge: 0,
          failures: 0,
          aliveWhileFull: false,
        };
        let filler = '';
        const r = await runScenario('worker-disk-full', async () => {
          // At once: the fresh log's file is still small, so its first appends need room.
          // (Later, a log whose file reached its working size reuses its free pages and
          // may go on for long on a full disk without needing a new block.)
          const from = Date.now();
          filler = fillUp(logDir);
          // The worker must notice (its next append that needs room fails) and say so.
          await waitFor(
            async () => {
              const ready = await readiness().catch(() => null);
              const gauge = await readCounter(adminPort, 'intake_worker_outbound_log_failing');
              seen.failingGauge = Math.max(seen.failingGauge, gauge);
              if (
                ready &&
                ready.status !== 200 &&
                /outbound log failing/.test(ready.problem ?? '')
              ) {
                seen.notReady = ready.status;
                seen.problem = ready.problem ?? '';
              }
              return seen.notReady !== 0 && seen.failingGauge === 1;
            },
            { timeoutMs: 30_000, intervalMs: 100, what: `${WORKER} reporting its log failing` },
          );
          await sleep(5000); // full for a while under load
          // Read until the worker answers: a /metrics that times out under load reads as 0.
          await waitFor(
            async () =>
              (seen.failures = await readCounter(
                adminPort,
                'intake_worker_outbound_log_failures',
              )) > 0,
            {
              timeoutMs: 15_000,
              intervalMs: 250,
              what: `${WORKER}'s outbound log failures counted`,
            },
          ).catch(() => undefined); // the expectation below says what was seen
          seen.aliveWhileFull = isAlive(pidOf(WORKER));
          unlinkSync(filler);
          await waitFor(async () => (await readiness().catch(() => null))?.status === 200, {
            timeoutMs: 60_000,
            intervalMs: 200,
            what: `${WORKER} ready again after space was freed`,
          });
          return { from, to: Date.now() };
        });
        console.log(`worker-disk-full: while full ${JSON.stringify(seen)}`);
        expect(seen.aliveWhileFull).toBe(true); // a full disk is not a crash
        expect(seen.notReady).toBe(503);
        expect(seen.problem).toMatch(/outbound log failing: .*append failed/);
        expect(seen.failingGauge).toBe(1);
        expect(seen.failures).toBeGreaterThan(0);
        expect(await readCounter(adminPort, 'intake_worker_outbound_log_failing')).toBe(0);
        expect(r.lost).toBe(0);
        expect(r.unprocessed).toBe(0);
        expect(r.acknowledged).toBeGreaterThan(0);
      },
    );
  },
);
