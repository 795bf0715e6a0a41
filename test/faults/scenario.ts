/**
 * One fault scenario: steady load through nginx while `inject` breaks something, then
 * the lag back to zero and `intake audit` over the fleet's topics with the ids the load
 * generator was told were accepted. The record (acknowledged, lost, duplicates, time to
 * recover, p99 during and after the fault) is written for the report.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { runAudit } from '../../services/cli/audit/audit';
import { runsText } from '../../services/cli/audit/analyze';
import { percentile, runLoad, statusesBetween } from '../../services/cli/load/load';
import type { Ack, LoadResult } from '../../services/cli/load/load';
import { kafkaDefaults } from '../../lib/config';
import {
  FAULT_FLEET,
  apiKey,
  faultKafka,
  processesDown,
  waitForLagZero,
  workerLogging,
} from './fault-fleet';
import type { FaultFleet } from './fault-fleet';
import { workerWarnings } from './log-summary';

export const FULL = process.env.INTAKE_FAULTS_FULL === '1';
/** Seconds of load per scenario: short in `npm test`, longer in `npm run faults`. */
export const LOAD_SECONDS = FULL ? 60 : 20;
export const RATE = 100; // requests a second, 5 events each
/** Steady load after the fault, for the p99 after it. */
const AFTER_MS = 10_000;

export interface ScenarioResult {
  scenario: string;
  /** When the scenario began (ms since the epoch): the report's row order. */
  started: number;
  /** The fleet it ran on (FaultFleet.label). */
  fleet: string;
  /** The workers' message logging during the run (`INTAKE_LOGGING`). */
  logging: 'sbml' | 'hml';
  acknowledged: number;
  lost: number;
  unprocessed: number;
  duplicates: number;
  recoverySeconds: number;
  p99DuringMs: number | null;
  p99AfterMs: number | null;
  retries: number;
  failedRequests: number;
  statuses: Record<string, number>;
  /** Answers that came while the fault lasted, and after it. */
  statusesDuring: Record<string, number>;
  statusesAfter: Record<string, number>;
  /** Where the unprocessed raw records sit (partition: offsets), when there are any. */
  unprocessedRuns?: string;
}

export const RESULTS_DIR = resolve(FAULT_FLEET.stateDir, '..', 'faults-results');

/** The record, and every answer and acknowledgement of the load (for checks of their own). */
export type ScenarioRun = ScenarioResult & Pick<LoadResult, 'answers'> & { acks: Ack[] };

export async function runScenario(
  name: string,
  inject: () => Promise<{ from: number; to: number }>,
  fleet: FaultFleet = FAULT_FLEET,
): Promise<ScenarioRun> {
  const started = Date.now();
  const logging = workerLogging(fleet);
  const stop = new AbortController();
  const load = runLoad({
    url: `http://127.0.0.1:${fleet.httpPort}/v1/events`,
    apiKey: apiKey(fleet),
    rate: RATE,
    durationMs: 15 * 60_000, // until stopped below
    batch: 5,
    signal: stop.signal,
  });
  let window: { from: number; to: number };
  try {
    window = await inject();
    // Load goes on for LOAD_SECONDS in all, and at least AFTER_MS after the fault ended.
    const end = Math.max(started + LOAD_SECONDS * 1000, window.to + AFTER_MS);
    await sleep(end - Date.now());
  } finally {
    stop.abort(); // no new requests into the next scenario (those sent still retry)
  }
  const loaded = await load;
  const down = processesDown(fleet);
  if (down.length > 0)
    throw new Error(
      `${down.join(', ')} of the fleet ${fleet.label} died during ${name} (not killed by it): see ${fleet.stateDir}/logs`,
    );
  const warnings = (): string =>
    `${name}: the workers' warnings since the scenario began (${fleet.stateDir}/logs):\n${workerWarnings(join(fleet.stateDir, 'logs'), started)}`;
  const recoveryMs = await waitForLagZero(fleet).catch((err: unknown) => {
    console.log(warnings());
    throw err;
  });
  const file = logging === 'sbml' ? name : `${name}.${logging}`;
  const ackedFile = join(RESULTS_DIR, `${file}.acked`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(ackedFile, loaded.acked.map((a) => a.id).join('\n'));
  // NOTE: the previous scenario ended with lag zero: what was written since is this one's.
  const report = await runAudit(faultKafka(fleet), kafkaDefaults.topics, {
    ackedFile,
    sinceMs: started - 500,
  });
  const ackedIds = new Set(loaded.acked.map((a) => a.id));
  const result: ScenarioResult = {
    scenario: name,
    started,
    fleet: fleet.label,
    logging,
    acknowledged: ackedIds.size,
    lost: report.lost.length + report.ackedUnprocessed.length,
    unprocessed: report.unprocessed.length,
    duplicates: report.duplicates,
    recoverySeconds: +(recoveryMs / 1000).toFixed(1),
    p99DuringMs: percentile(loaded.acked, 99, window.from, window.to),
    p99AfterMs: percentile(loaded.acked, 99, window.to),
    retries: loaded.retries,
    failedRequests: loaded.failed,
    statuses: loaded.statuses,
    statusesDuring: statusesBetween(loaded.answers, window.from, window.to),
    statusesAfter: statusesBetween(loaded.answers, window.to),
    ...(report.unprocessedRuns.length > 0 && { unprocessedRuns: runsText(report.unprocessedRuns) }),
  };
  if (result.lost > 0 || result.unprocessed > 0 || (logging === 'hml' && result.duplicates > 0))
    console.log(warnings());
  writeFileSync(join(RESULTS_DIR, `${file}.json`), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`${file}: ${JSON.stringify(result)}`);
  return { ...result, answers: loaded.answers, acks: loaded.acked };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
