/**
 * The fleet the fault scenarios break: started by the project's own CLI on ports of its
 * own (nginx 24080, broker 25092, workers 25101+), no demo puller, so it never collides
 * with a developer's fleet, the e2e fleet or the container stack. Its edges and workers
 * reach the broker through the TCP fault proxy (tcp-fault-proxy.ts, a child process on
 * 25095, control port 25096) in front of a second broker listener (25094) advertised on
 * the proxy's port; tools, the audit and the tests' admin clients use the direct 25092.
 *
 * Every port is below Linux's ephemeral range (32768-60999): the scenarios open and drop
 * many connections, and while the broker is down the kernel may hand its port to one of
 * them as a local port, after which the restarted broker cannot bind it (a run on 59092
 * failed exactly so).
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { readCounter } from '../../services/cli/fleet/probe';
import { spawnDetached, stopProcess } from '../../services/cli/fleet/processes';
import { isAlive, readState } from '../../services/cli/fleet/state';
import { FaultProxyControl } from './tcp-fault-proxy';
import { ROOT } from '../support/test-env';
import { waitFor } from '../support/kafka-helpers';

const run = promisify(execFile);
const offset = Number(process.env.INTAKE_TEST_PORT_OFFSET ?? 0);

export const FAULT_FLEET = {
  httpPort: 24080 + offset,
  kafkaPort: 25092 + offset,
  /** The broker's FLEET listener (kafka.sh: client port + 2), behind the proxy. */
  kafkaFleetListenPort: 25094 + offset,
  proxyPort: 25095 + offset,
  proxyControlPort: 25096 + offset,
  workerBasePort: 25101 + offset,
  stateDir: resolve(ROOT, '.intake', `faults${offset === 0 ? '' : `-${offset}`}`),
};

export const faultEnv = (): Record<string, string> => ({
  INTAKE_STATE_DIR: FAULT_FLEET.stateDir,
  INTAKE_HTTP_PORT: String(FAULT_FLEET.httpPort),
  INTAKE_KAFKA_PORT: String(FAULT_FLEET.kafkaPort),
  INTAKE_KAFKA_FLEET_PORT: String(FAULT_FLEET.proxyPort),
  INTAKE_WORKER_BASE_PORT: String(FAULT_FLEET.workerBasePort),
  INTAKE_EDGES: '2',
  INTAKE_WORKERS: '2',
  INTAKE_DEMO_PULLER: 'off',
  INTAKE_RATE_LIMIT_PER_SECOND: '100000',
  INTAKE_RATE_LIMIT_BURST: '100000',
});

/**
 * The CLI without blocking the event loop: the load generator runs in this process and
 * must keep its arrival rate while a restart waits for readiness.
 */
export async function fleetCliAsync(...args: string[]): Promise<void> {
  await run(process.execPath, [resolve(ROOT, 'dist', 'services', 'cli', 'main.js'), ...args], {
    env: { ...process.env, ...faultEnv() },
  });
}

export function fleetCli(...args: string[]): void {
  execFileSync(process.execPath, [resolve(ROOT, 'dist', 'services', 'cli', 'main.js'), ...args], {
    env: { ...process.env, ...faultEnv() },
    stdio: 'inherit',
  });
}

export const faultKafka = (): Kafka =>
  new Kafka({
    clientId: 'faults',
    brokers: [`127.0.0.1:${FAULT_FLEET.kafkaPort}`],
    logLevel: logLevel.NOTHING,
  });

export const apiKey = (): string =>
  readFileSync(resolve(FAULT_FLEET.stateDir, 'api-key'), 'utf8').trim();

/** The pid of a fleet process by name (`edge-1`, `worker-2`, `kafka`). */
export function pidOf(name: string): number {
  if (name === 'kafka') {
    const file = resolve(FAULT_FLEET.stateDir, `kafka-${FAULT_FLEET.kafkaPort}`, 'kafka.pid');
    return Number(readFileSync(file, 'utf8').trim());
  }
  const p = readState(FAULT_FLEET.stateDir)?.processes.find((x) => x.name === name);
  if (!p) throw new Error(`no process ${name} in the fault fleet`);
  return p.pid;
}

/**
 * Waits until the workers' group has consumed intake.raw to its end and their outbound logs
 * are empty (everything delivered); returns how long it took.
 */
export async function waitForLagZero(timeoutMs = 180_000): Promise<number> {
  const started = Date.now();
  const admin = faultKafka().admin();
  await admin.connect();
  try {
    await waitFor(
      async () => {
        try {
          const ends = await admin.fetchTopicOffsets('intake.raw');
          const [group] = await admin.fetchOffsets({
            groupId: 'intake-workers',
            topics: ['intake.raw'],
          });
          const committed = new Map(group!.partitions.map((p) => [p.partition, BigInt(p.offset)]));
          if (!ends.every((e) => (committed.get(e.partition) ?? -1n) >= BigInt(e.high)))
            return false;
          // SBML commits once an entry is in the outbound log: delivered means the logs are empty.
          const pending = await Promise.all(
            [0, 1].map((i) =>
              readCounter(FAULT_FLEET.workerBasePort + i, 'intake_worker_outbound_log_entries'),
            ),
          );
          return pending.every((n) => n === 0);
        } catch {
          return false;
        }
      },
      { timeoutMs, intervalMs: 250, what: 'consumer lag back to zero' },
    );
  } finally {
    await admin.disconnect();
  }
  return Date.now() - started;
}

const proxyPidFile = (): string => resolve(FAULT_FLEET.stateDir, 'fault-proxy.pid');

/**
 * Starts the fault proxy (the build's dist/test/faults/tcp-fault-proxy.js) as a detached
 * child process, in pass mode, and waits until its control port answers.
 */
export async function startFaultProxy(): Promise<void> {
  const entry = resolve(ROOT, 'dist', 'test', 'faults', 'tcp-fault-proxy.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` first`);
  const pid = spawnDetached({
    command: process.execPath,
    args: [
      entry,
      '--listen',
      String(FAULT_FLEET.proxyPort),
      '--target',
      `127.0.0.1:${FAULT_FLEET.kafkaFleetListenPort}`,
      '--control',
      String(FAULT_FLEET.proxyControlPort),
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

export const faultProxy = (): FaultProxyControl =>
  new FaultProxyControl(FAULT_FLEET.proxyControlPort);
