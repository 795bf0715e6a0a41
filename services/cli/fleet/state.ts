/**
 * The running fleet's record (`<state>/fleet.json`): which processes it started, so
 * `intake down` and `intake status` can find them and a second `up` can say one runs.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FleetPlan, ServiceKind } from './plan';

export interface RunningProcess {
  name: string;
  kind: ServiceKind | 'nginx' | 'kafka';
  pid: number;
  port: number;
  log: string;
}

export interface FleetState {
  startedAt: string;
  supervisorPid: number | null;
  plan: FleetPlan;
  processes: RunningProcess[];
}

const stateFile = (stateDir: string): string => join(stateDir, 'fleet.json');

export function readState(stateDir: string): FleetState | null {
  const file = stateFile(stateDir);
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as FleetState;
  } catch {
    return null;
  }
}

export function writeState(state: FleetState): void {
  writeFileSync(stateFile(state.plan.stateDir), JSON.stringify(state, null, 2));
}

export function clearState(stateDir: string): void {
  rmSync(stateFile(stateDir), { force: true });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
