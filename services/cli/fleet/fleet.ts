/**
 * The local fleet: one KRaft broker (or three), nginx on 127.0.0.1:8080, N edges and M
 * workers as separate processes. `up` starts them in dependency order and waits until each is
 * ready; `down` stops them in the order that loses nothing: nginx (no new requests) ->
 * edges (drain, flush their producers) -> workers (finish and commit the running batch)
 * -> brokers. `restartProcess` brings one edge, worker or broker back.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../../lib/lifecycle';
import {
  createTopics,
  kafkaRunning,
  startBroker,
  startKafka,
  stopBroker,
  stopKafka,
  waitInSync,
} from './kafka';
import type { FleetPlan, KafkaNode, ProcessSpec } from './plan';
import { kafkaBrokers, kafkaNodes, replicationFactor, serviceKafkaBrokers } from './plan';
import { writeDemoSite } from './demo-site';
import { startNginx } from './nginx';
import { isReady } from './probe';
import { serviceEntry, serviceNodeFlags, spawnDetached, stopProcess } from './processes';
import { clearState, isAlive, readState, writeState } from './state';
import type { FleetState, RunningProcess } from './state';

export type Reporter = (message: string) => void;

export class FleetAlreadyRunning extends Error {}

/** A fleet whose record names a live process, or null. */
export function runningFleet(plan: FleetPlan): FleetState | null {
  const state = readState(plan.stateDir);
  if (!state) return null;
  const alive =
    state.processes.some((p) => isAlive(p.pid)) ||
    (state.supervisorPid !== null && isAlive(state.supervisorPid));
  return alive ? state : null;
}

export async function up(
  plan: FleetPlan,
  report: Reporter,
  supervisorPid: number | null,
): Promise<FleetState> {
  const existing = runningFleet(plan);
  if (existing) {
    throw new FleetAlreadyRunning(
      `a fleet started at ${existing.startedAt} is already running (nginx on 127.0.0.1:${existing.plan.httpPort}); ` +
        'use it, see `npm run status`, or stop it with `npm run down`',
    );
  }
  mkdirSync(plan.logDir, { recursive: true });
  const state: FleetState = {
    startedAt: new Date().toISOString(),
    supervisorPid,
    plan,
    processes: [],
  };

  const step = async <T>(label: string, action: () => Promise<T> | T): Promise<T> => {
    const started = Date.now();
    report(`${label} ...`);
    const result = await action();
    report(`${label}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return result;
  };

  try {
    await step(`Kafka on ${kafkaBrokers(plan)}`, () => startKafka(plan));
    await step('topics', async () => {
      const created = await createTopics(plan);
      if (created.length > 0)
        report(
          `  created ${created.join(', ')} (${plan.partitions} partitions, replication factor ${replicationFactor(plan)} each)`,
        );
    });
    await step(`${plan.workers.length} workers`, () => {
      for (const w of plan.workers) state.processes.push(startService(plan, w));
      writeState(state);
    });
    if (plan.demo.length > 0) {
      await step('demo upstream and puller', () => {
        for (const d of plan.demo) state.processes.push(startService(plan, d));
        writeState(state);
      });
    }
    await step(`${plan.edges.length} edges`, () => {
      for (const e of plan.edges) state.processes.push(startService(plan, e));
      writeState(state);
    });
    await step(`nginx on 127.0.0.1:${plan.httpPort}`, () => {
      writeDemoSite(plan, localApiKey(plan));
      const nginx = startNginx(plan);
      state.processes.push({
        name: 'nginx',
        kind: 'nginx',
        pid: nginx.pid,
        port: plan.httpPort,
        log: nginx.log,
      });
      writeState(state);
    });
    await step('waiting until every process is ready', () => waitUntilReady(state, 120_000));
  } catch (err) {
    report(`start failed: ${(err as Error).message}`);
    report('stopping what was started ...');
    await stopAll(state, plan, report);
    throw err;
  }
  return state;
}

/**
 * The local fleet's API key: made once, kept in `<state>/api-key` (mode 600), given to
 * every edge as the key of the source `local`.
 */
export function localApiKey(plan: FleetPlan): string {
  return localSecret(plan, 'api-key');
}

/**
 * The local fleet's admin key (the admin API, `/admin/...`): made once, kept in
 * `<state>/admin-key` (mode 600), unless `INTAKE_ADMIN_KEY` gives one.
 */
export function localAdminKey(plan: FleetPlan): string {
  return process.env.INTAKE_ADMIN_KEY || localSecret(plan, 'admin-key');
}

/** A random secret made once and kept in `<state>/<name>` (mode 600). */
function localSecret(plan: FleetPlan, name: string): string {
  const file = join(plan.stateDir, name);
  if (!existsSync(file)) {
    mkdirSync(plan.stateDir, { recursive: true });
    writeFileSync(file, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

export function startService(plan: FleetPlan, spec: ProcessSpec): RunningProcess {
  const log = join(plan.logDir, `${spec.name}.log`);
  const env = {
    ...plan.serviceEnv,
    INTAKE_INSTANCE: spec.name,
    INTAKE_KAFKA_BROKERS: serviceKafkaBrokers(plan),
    ...serviceEnv(plan, spec),
    ...spec.env,
  };
  const pid = spawnDetached({
    command: process.execPath,
    args: [
      '--enable-source-maps',
      // the process's environment, as spawnDetached builds it
      ...serviceNodeFlags(spec.kind, { ...process.env, ...env }),
      serviceEntry(plan.root, spec.kind),
    ],
    env,
    log,
    cwd: plan.root,
  });
  return { name: spec.name, kind: spec.kind, pid, port: spec.port, log };
}

/** What each kind of process needs beside the shared environment. */
function serviceEnv(plan: FleetPlan, spec: ProcessSpec): Record<string, string> {
  const port = String(spec.port);
  switch (spec.kind) {
    case 'edge':
      return {
        INTAKE_EDGE_PORT: port,
        INTAKE_UDP_PORT: port, // UDP on the HTTP port's number; nginx spreads datagrams here
        INTAKE_EDGE_VIEW_DIR: join(plan.stateDir, spec.name, 'views'),
        // The local key, and any keys the caller lists in INTAKE_API_KEYS beside it.
        INTAKE_API_KEYS: [`local:${localApiKey(plan)}:*`, process.env.INTAKE_API_KEYS ?? '']
          .filter(Boolean)
          .join(','),
        // The admin API is on, with the fleet's own admin key.
        INTAKE_ADMIN_KEY: localAdminKey(plan),
        // Any page may send from a browser (a browser write key is public by nature); a
        // deployment lists its own origins.
        INTAKE_CORS_ORIGINS: process.env.INTAKE_CORS_ORIGINS ?? '*',
        // Browser trackers that send no key (Snowplow's): the app id `local` is the source
        // `local`, beside any the caller lists.
        INTAKE_BROWSER_APP_IDS: ['local=local', process.env.INTAKE_BROWSER_APP_IDS ?? '']
          .filter(Boolean)
          .join(','),
      };
    case 'worker':
      return {
        INTAKE_WORKER_ADMIN_PORT: port,
        INTAKE_OUTBOUND_LOG_DIR: join(plan.stateDir, spec.name, 'outbound-log'),
      };
    case 'demo-upstream':
      return { INTAKE_DEMO_UPSTREAM_PORT: port };
    case 'puller': {
      const upstream = plan.demo.find((d) => d.kind === 'demo-upstream');
      const url = `http://127.0.0.1:${upstream?.port ?? 0}/events`;
      return {
        INTAKE_PULLER_ADMIN_PORT: port,
        INTAKE_PULLER_UPSTREAMS: JSON.stringify([{ name: 'demo', url, format: 'sse' }]),
      };
    }
  }
}

export async function waitUntilReady(state: FleetState, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(state.processes);
  while (pending.size > 0) {
    for (const p of [...pending]) {
      if (!isAlive(p.pid))
        throw new Error(`${p.name} exited during start; last lines of ${p.log}:\n${tail(p.log)}`);
      const ready = p.kind === 'nginx' ? await isReady(p.port, '/healthz') : await isReady(p.port);
      if (ready) pending.delete(p);
    }
    if (pending.size === 0) return;
    if (Date.now() > deadline) {
      const names = [...pending].map((p) => `${p.name} (log ${p.log})`).join(', ');
      throw new Error(`not ready after ${timeoutMs / 1000} s: ${names}`);
    }
    await sleep(250);
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * (Re)starts one process of the running fleet by name (an edge, a worker, the puller, or
 * a broker: `kafka`, or `kafka-2` with three), e.g. after it crashed or was killed: a live
 * one is stopped first (SIGTERM, so it drains). Resolves once it is ready; a broker of
 * three once its replicas are back in sync. With three brokers, `kafka` restarts each in
 * turn (a rolling restart).
 */
export async function restartProcess(
  plan: FleetPlan,
  name: string,
  report: Reporter,
): Promise<RunningProcess> {
  const state = readState(plan.stateDir);
  if (!state) throw new Error('no fleet is running; start one with `npm run up`');
  const nodes = kafkaNodes(state.plan);
  const brokers = name === 'kafka' ? nodes : nodes.filter((node) => node.name === name);
  if (brokers.length > 0) {
    for (const node of brokers) await restartBroker(state.plan, node, report);
    return { name, kind: 'kafka', pid: 0, port: brokers[0]!.port, log: '' };
  }
  const specs = [...state.plan.edges, ...state.plan.workers, ...(state.plan.demo ?? [])];
  const spec = specs.find((s) => s.name === name);
  if (!spec) {
    const names = [...specs.map((s) => s.name), ...nodes.map((n) => n.name)].join(', ');
    throw new Error(`the fleet has no process "${name}"; it has ${names}`);
  }
  const old = state.processes.find((p) => p.name === name);
  if (old && isAlive(old.pid)) {
    report(`stopping ${name} (pid ${old.pid}) ...`);
    await stopProcess(old.pid);
  }
  const started = startService(state.plan, spec);
  state.processes = [...state.processes.filter((p) => p.name !== name), started];
  writeState(state);
  await waitUntilReady({ ...state, processes: [started] }, 60_000);
  report(`${name} running (pid ${started.pid})`);
  return started;
}

/** A broker keeps its data directory: a restart after a crash recovers its log. */
async function restartBroker(plan: FleetPlan, node: KafkaNode, report: Reporter): Promise<void> {
  await stopBroker(plan, node);
  await startBroker(plan, node);
  if (kafkaNodes(plan).length > 1) await waitInSync(plan);
  report(`${node.name} running on 127.0.0.1:${node.port}`);
}

/** Stops a fleet from its record; also stops a broker left without a record. */
export async function down(plan: FleetPlan, report: Reporter): Promise<boolean> {
  const state = readState(plan.stateDir);
  if (!state) {
    if (kafkaRunning(plan)) {
      report('no fleet record, but a broker is running: stopping the brokers');
      await stopKafka(plan);
      return true;
    }
    return false;
  }
  await stopAll(state, state.plan, report);
  if (
    state.supervisorPid !== null &&
    state.supervisorPid !== process.pid &&
    isAlive(state.supervisorPid)
  ) {
    await stopProcess(state.supervisorPid, 10_000);
  }
  return true;
}

async function stopAll(state: FleetState, plan: FleetPlan, report: Reporter): Promise<void> {
  for (const kind of ['nginx', 'puller', 'demo-upstream', 'edge', 'worker'] as const) {
    const group = state.processes.filter((p) => p.kind === kind);
    if (group.length === 0) continue;
    const results = await Promise.all(group.map((p) => stopProcess(p.pid)));
    report(`${kind}: ${group.map((p, i) => `${p.name} ${results[i]}`).join(', ')}`);
  }
  await stopKafka(plan);
  report(`Kafka stopped (${kafkaNodes(plan).length} broker(s))`);
  clearState(plan.stateDir);
}
