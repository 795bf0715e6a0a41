/**
 * The fleets the fault scenarios break: started by the project's own CLI on ports of their
 * own, no demo puller, so they never collide with a developer's fleet, the e2e fleet or
 * the container stack. FAULT_FLEET (nginx 24080, broker 25092, workers 25151+; one broker)
 * runs for the whole faults project; its edges and workers reach the broker through the
 * TCP fault proxy (tcp-fault-proxy.ts, a child process on 25095, control port 25096) in
 * front of a second broker listener (25094) advertised on the proxy's port; tools, the
 * audit and the tests' admin clients use the direct 25092. BROKERS3_FLEET (nginx 27080,
 * brokers 27092-27094 with controllers on 27095-27097, workers 27151+; replication factor
 * 3, min ISR 2) only runs while brokers3.faults.test.ts does. Workers sit 50 ports above
 * their fleet's brokers, so suites run side by side with offsets 10 apart never meet.
 * Every helper takes the fleet it acts on (FAULT_FLEET by default).
 *
 * Every port is below Linux's ephemeral range (32768-60999): the scenarios open and drop
 * many connections, and while a broker is down the kernel may hand its port to one of them
 * as a local port, after which the restarted broker cannot bind it (runs failed so).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { KafkaClient } from '../../lib/kafka/port';
import { KAFKA_CLIENTS } from '../../lib/kafka/port';
import { brokerPid } from '../../services/cli/fleet/kafka';
import { kafkaBrokerList, kafkaNodes, makePlan } from '../../services/cli/fleet/plan';
import type { FleetPlan } from '../../services/cli/fleet/plan';
import { httpGet, metricValue } from '../../services/cli/fleet/probe';
import { spawnDetached, stopProcess } from '../../services/cli/fleet/processes';
import { isAlive, readState } from '../../services/cli/fleet/state';
import {
  setWorkerLogging as setFleetWorkerLogging,
  workerLogging as fleetWorkerLogging,
} from '../support/fleet-logging';
import type { Logging } from '../support/fleet-logging';
import { FaultProxyControl } from './tcp-fault-proxy';
import { ROOT } from '../support/test-env';
import { testKafka, waitFor } from '../support/kafka-helpers';

const run = promisify(execFile);
const offset = Number(process.env.INTAKE_TEST_PORT_OFFSET ?? 0);

const suffix = offset === 0 ? '' : `-${offset}`;

export interface FaultFleet {
  /** How the report names it. */
  label: string;
  httpPort: number;
  kafkaPort: number;
  brokers: 1 | 3;
  workerBasePort: number;
  stateDir: string;
  /** The TCP fault proxy between the services and the broker (one broker only). */
  proxy?: {
    /** The broker's FLEET listener (kafka.sh: client port + 2), behind the proxy. */
    kafkaFleetListenPort: number;
    port: number;
    controlPort: number;
  };
}

const WORKERS = 2;

export const FAULT_FLEET: FaultFleet = {
  label: '2 edges, 2 workers, 1 broker behind a fault proxy',
  httpPort: 24080 + offset,
  kafkaPort: 25092 + offset,
  brokers: 1,
  workerBasePort: 25151 + offset,
  stateDir: resolve(ROOT, '.intake', `faults${suffix}`),
  proxy: {
    kafkaFleetListenPort: 25094 + offset,
    port: 25095 + offset,
    controlPort: 25096 + offset,
  },
};

export const BROKERS3_FLEET: FaultFleet = {
  label: '2 edges, 2 workers, 3 brokers (RF 3, min ISR 2)',
  httpPort: 27080 + offset,
  kafkaPort: 27092 + offset,
  brokers: 3,
  workerBasePort: 27151 + offset,
  stateDir: resolve(ROOT, '.intake', `faults-brokers3${suffix}`),
};

export const faultEnv = (fleet: FaultFleet = FAULT_FLEET): Record<string, string> => ({
  INTAKE_STATE_DIR: fleet.stateDir,
  INTAKE_HTTP_PORT: String(fleet.httpPort),
  INTAKE_KAFKA_PORT: String(fleet.kafkaPort),
  INTAKE_BROKERS: String(fleet.brokers),
  ...(fleet.proxy ? { INTAKE_KAFKA_FLEET_PORT: String(fleet.proxy.port) } : {}),
  INTAKE_WORKER_BASE_PORT: String(fleet.workerBasePort),
  INTAKE_EDGES: '2',
  INTAKE_WORKERS: String(WORKERS),
  INTAKE_DEMO_PULLER: 'off',
  INTAKE_RATE_LIMIT_PER_SECOND: '100000',
  INTAKE_RATE_LIMIT_BURST: '100000',
  // `INTAKE_FAULTS_LOGGING=hml npm run faults`: every scenario with HML workers.
  INTAKE_LOGGING: process.env.INTAKE_FAULTS_LOGGING === 'hml' ? 'hml' : 'sbml',
  // worker-1 on kafkajs, worker-2 on @platformatic/kafka: every worker scenario, in both
  // modes, covers both clients at no added time (with INTAKE_KAFKA_CLIENT set, both
  // workers run on that one).
  INTAKE_WORKER_KAFKA_CLIENTS: process.env.INTAKE_KAFKA_CLIENT ?? KAFKA_CLIENTS.join(','),
});

/**
 * The CLI without blocking the event loop: the load generator runs in this process and
 * must keep its arrival rate while a restart waits for readiness.
 */
export async function fleetCliAsync(...args: string[]): Promise<void> {
  await fleetCommandAsync(FAULT_FLEET, ...args);
}

export async function fleetCommandAsync(fleet: FaultFleet, ...args: string[]): Promise<void> {
  await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...faultEnv(fleet) } });
}

export function fleetCli(...args: string[]): void {
  fleetCommand(FAULT_FLEET, ...args);
}

export function fleetCommand(fleet: FaultFleet, ...args: string[]): void {
  execFileSync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...faultEnv(fleet) },
    stdio: 'inherit',
  });
}

const CLI = resolve(ROOT, 'dist', 'services', 'cli', 'main.js');

/** The plan the CLI makes for the fleet: its brokers' names and ports. */
const planOf = (fleet: FaultFleet): FleetPlan => makePlan(ROOT, {}, faultEnv(fleet));

/** The fleet's bootstrap brokers, as its services reach them. */
export const faultBrokers = (fleet: FaultFleet = FAULT_FLEET): string[] =>
  kafkaBrokerList(planOf(fleet));

export const faultKafka = (fleet: FaultFleet = FAULT_FLEET): KafkaClient =>
  testKafka(faultBrokers(fleet));

export const apiKey = (fleet: FaultFleet = FAULT_FLEET): string =>
  readFileSync(resolve(fleet.stateDir, 'api-key'), 'utf8').trim();

/** The pid of a fleet process by name (`edge-1`, `worker-2`, `kafka`, `kafka-2`). */
export function pidOf(name: string, fleet: FaultFleet = FAULT_FLEET): number {
  const plan = planOf(fleet);
  const broker = kafkaNodes(plan).find((node) => node.name === name);
  if (broker) {
    const pid = brokerPid(plan, broker);
    if (pid === null) throw new Error(`${name} of the fleet ${fleet.label} is not running`);
    return pid;
  }
  const p = readState(fleet.stateDir)?.processes.find((x) => x.name === name);
  if (!p) throw new Error(`no process ${name} in the fleet ${fleet.label}`);
  return p.pid;
}

/**
 * The fleet's services (edges, workers, nginx) whose process is not running: each scenario
 * restarts what it kills, so one listed here died of itself (what its outbound log holds
 * waits for a restart the fault fleet never makes).
 */
export function processesDown(fleet: FaultFleet = FAULT_FLEET): string[] {
  const state = readState(fleet.stateDir);
  if (!state) throw new Error(`the fleet ${fleet.label} has no state in ${fleet.stateDir}`);
  return state.processes.filter((p) => p.kind !== 'kafka' && !isAlive(p.pid)).map((p) => p.name);
}

/**
 * Waits until the workers' group has consumed intake.raw to its end and their outbound logs
 * are empty (everything delivered: a worker that does not answer is not); returns how long
 * it took.
 */
export async function waitForLagZero(
  fleet: FaultFleet = FAULT_FLEET,
  timeoutMs = 180_000,
): Promise<number> {
  const started = Date.now();
  const admin = faultKafka(fleet).admin();
  await admin.connect();
  /** What the last look saw (in the error when it times out). */
  let last = 'nothing answered';
  try {
    await waitFor(
      async () => {
        try {
          const ends = await admin.fetchTopicOffsets('intake.raw');
          const group = await admin.fetchOffsets('intake-workers', 'intake.raw');
          const committed = new Map(group.map((p) => [p.partition, BigInt(p.offset)]));
          const behind = ends.filter((e) => (committed.get(e.partition) ?? -1n) < BigInt(e.high));
          last = `partitions behind (partition: committed/end): ${behind.map((e) => `${e.partition}: ${committed.get(e.partition) ?? 'none'}/${e.high}`).join(', ')}`;
          if (behind.length > 0) return false;
          // SBML commits once an entry is in the outbound log: delivered means the logs are
          // empty. Every worker exports the gauge (0 without a log: HML); an answer without it
          // is not an empty log.
          const pending = await Promise.all(
            Array.from({ length: WORKERS }, (_, i) =>
              httpGet(fleet.workerBasePort + i, '/metrics').then((answer) =>
                metricValue(answer.body, 'intake_worker_outbound_log_entries', NaN),
              ),
            ),
          );
          last = `outbound log entries per worker: ${pending.join(', ')}`;
          return pending.every((n) => n === 0);
        } catch (err) {
          last = `the last look failed: ${String(err)}`;
          return false;
        }
      },
      { timeoutMs, intervalMs: 250, what: 'consumer lag back to zero' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; ${last}`);
    });
  } finally {
    await admin.disconnect();
  }
  return Date.now() - started;
}

const FAULT_PROXY = FAULT_FLEET.proxy!;

const proxyPidFile = (): string => resolve(FAULT_FLEET.stateDir, 'fault-proxy.pid');

/**
 * Starts the fault proxy (the build's dist/test/faults/tcp-fault-proxy.js) as a detached
 * child process, in pass mode, and waits until its control port answers.
 */
export async function startFaultProxy(): Promise<void> {
  const proxy = FAULT_PROXY;
  const entry = resolve(ROOT, 'dist', 'test', 'faults', 'tcp-fault-proxy.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const pid = spawnDetached({
    command: process.execPath,
    args: [
      entry,
      '--listen',
      String(proxy.port),
      '--target',
      `127.0.0.1:${proxy.kafkaFleetListenPort}`,
      '--control',
      String(proxy.controlPort),
    ],
    env: {},
    log: resolve(FAULT_FLEET.stateDir, 'fault-proxy.log'),
    cwd: ROOT,
  });
  writeFileSync(proxyPidFile(), String(pid));
  await waitFor(
    async () => {
      if (!isAlive(pid)) throw new Error('the fault proxy exited; see fault-proxy.log');
      return faultProxy()
        .stats()
        .then(() => true)
        .catch(() => false);
    },
    { timeoutMs: 10_000, intervalMs: 100, what: 'the fault proxy' },
  );
}

/** Stops the fault proxy started by `startFaultProxy` (if any). */
export async function stopFaultProxy(): Promise<void> {
  if (!existsSync(proxyPidFile())) return;
  const pid = Number(readFileSync(proxyPidFile(), 'utf8'));
  if (isAlive(pid)) await stopProcess(pid, 5000);
  rmSync(proxyPidFile(), { force: true });
}

export const faultProxy = (): FaultProxyControl => new FaultProxyControl(FAULT_PROXY.controlPort);

/** The message logging the fleet's workers run with (`INTAKE_LOGGING`). */
export const workerLogging = (fleet: FaultFleet = FAULT_FLEET): Logging =>
  fleetWorkerLogging(fleet.stateDir);

/** Switches the running fleet's workers to another message logging (restarting each). */
export const setWorkerLogging = (mode: Logging, fleet: FaultFleet = FAULT_FLEET): Promise<void> =>
  setFleetWorkerLogging(fleet.stateDir, mode, (name) => fleetCommandAsync(fleet, 'restart', name));
