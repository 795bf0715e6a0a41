/**
 * Adding and removing edges of the running local fleet without failing a request
 * (`intake add edge`, `intake remove edge-3`).
 *
 * - Add: start the next edge -> wait until it is ready -> put it in nginx's upstream
 *   (graceful reload). nginx sends it nothing before it is ready.
 * - Remove: take the edge out of nginx's upstream (graceful reload: new nginx workers no
 *   longer use it, old ones finish their requests) -> SIGTERM the edge, which drains
 *   (answers what it holds, flushes its producer) and exits.
 *
 * The fleet record (`<state>/fleet.json`) is written after every step, so `status`,
 * `restart` and `down` see every process that runs, whatever step failed.
 */
import type { Reporter } from './fleet';
import { startService, waitUntilReady } from './fleet';
import { reloadNginx } from './nginx';
import { withEdgeAdded, withEdgeRemoved } from './plan';
import type { FleetPlan } from './plan';
import { stopProcess } from './processes';
import { readState, writeState } from './state';
import type { FleetState, RunningProcess } from './state';

function runningState(plan: FleetPlan): { state: FleetState; nginx: RunningProcess } {
  const state = readState(plan.stateDir);
  if (!state) throw new Error('no fleet is running; start one with `npm run up`');
  const nginx = state.processes.find((p) => p.kind === 'nginx');
  if (!nginx) throw new Error('the fleet record has no nginx');
  return { state, nginx };
}

export async function addEdge(plan: FleetPlan, report: Reporter): Promise<RunningProcess> {
  const { state, nginx } = runningState(plan);
  const { plan: next, edge } = withEdgeAdded(state.plan);
  report(`starting ${edge.name} on 127.0.0.1:${edge.port} ...`);
  const started = startService(next, edge);
  state.processes.push(started);
  writeState(state);
  try {
    await waitUntilReady({ ...state, processes: [started] }, 60_000);
  } catch (err) {
    await stopProcess(started.pid);
    state.processes = state.processes.filter((p) => p !== started);
    writeState(state);
    throw err;
  }
  await reloadNginx(next, nginx.pid);
  state.plan = next;
  writeState(state);
  report(`${edge.name} running (pid ${started.pid}) and behind nginx`);
  return started;
}

export async function removeEdge(plan: FleetPlan, name: string, report: Reporter): Promise<void> {
  const { state, nginx } = runningState(plan);
  const next = withEdgeRemoved(state.plan, name);
  report(`taking ${name} out of nginx ...`);
  await reloadNginx(next, nginx.pid);
  state.plan = next;
  writeState(state);
  const running = state.processes.find((p) => p.name === name);
  if (running) {
    report(`stopping ${name} (pid ${running.pid}): it drains ...`);
    const how = await stopProcess(running.pid);
    state.processes = state.processes.filter((p) => p !== running);
    writeState(state);
    report(`${name} ${how}`);
  }
}
