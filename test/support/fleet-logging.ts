/**
 * The message logging a running test fleet's workers use (`INTAKE_LOGGING`, kept in the
 * fleet's state as part of its plan), and the switch to another one: each worker is
 * restarted (SIGTERM: it drains its outbound log first) with the new mode, in turn.
 */
import { readState, writeState } from '../../services/cli/fleet/state';

export type Logging = 'sbml' | 'hml';

export function workerLogging(stateDir: string): Logging {
  return readState(stateDir)?.plan.serviceEnv.INTAKE_LOGGING === 'hml' ? 'hml' : 'sbml';
}

export async function setWorkerLogging(
  stateDir: string,
  mode: Logging,
  restart: (name: string) => Promise<void> | void,
): Promise<void> {
  const state = readState(stateDir);
  if (!state) throw new Error(`no fleet is running in ${stateDir}`);
  state.plan.serviceEnv.INTAKE_LOGGING = mode;
  writeState(state);
  for (const worker of state.plan.workers) await restart(worker.name);
}
