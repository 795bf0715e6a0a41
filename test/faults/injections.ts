/**
 * The faults the scenarios inject, shared by the files that run them (each in its own
 * logging mode): each returns the window the fault lasted.
 */
import { fleetCliAsync, faultProxy, pidOf } from './fault-fleet';
import { LOAD_SECONDS, sleep } from './scenario';

export type Window = { from: number; to: number };

/** The pause before each of a scenario's repeated faults. */
export const GAP_MS = (LOAD_SECONDS * 1000) / 7;

/** Kills `name` with SIGKILL, waits, and restarts it through the fleet CLI. */
export async function killAndRestart(name: string, downMs: number): Promise<void> {
  process.kill(pidOf(name), 'SIGKILL');
  await sleep(downMs);
  await fleetCliAsync('restart', name);
}

/** SIGKILL and restart, `times` times, alternating between `names`. */
export async function killAlternating(names: string[], times: number): Promise<Window> {
  const from = Date.now();
  for (let i = 0; i < times; i++) {
    await sleep(GAP_MS);
    await killAndRestart(names[i % names.length]!, 500);
  }
  return { from, to: Date.now() };
}

/** SIGSTOP for `ms`, then SIGCONT. */
export async function freeze(name: string, ms: number): Promise<Window> {
  await sleep(GAP_MS);
  const from = Date.now();
  const pid = pidOf(name);
  process.kill(pid, 'SIGSTOP');
  await sleep(ms);
  process.kill(pid, 'SIGCONT');
  return { from, to: Date.now() };
}

/** The broker SIGKILLed, restarted after `downMs` with its data kept. */
export async function killBroker(downMs: number): Promise<Window> {
  await sleep(GAP_MS * 2);
  const from = Date.now();
  await killAndRestart('kafka', downMs);
  return { from, to: Date.now() };
}

/** A clean restart (SIGTERM, drain) of each process in turn. */
export async function rollingRestart(names: string[]): Promise<Window> {
  await sleep(GAP_MS);
  const from = Date.now();
  for (const name of names) {
    await fleetCliAsync('restart', name);
    await sleep(1000);
  }
  return { from, to: Date.now() };
}

/** Every fleet<->Kafka connection reset through the fault proxy, `times` times; how many. */
export async function resetConnections(times: number): Promise<Window & { reset: number }> {
  const from = Date.now();
  let reset = 0;
  for (let i = 0; i < times; i++) {
    await sleep(GAP_MS);
    reset += await faultProxy().resetAll();
  }
  return { from, to: Date.now(), reset };
}
