/**
 * Starting and stopping the fleet's processes. Each runs detached in its own process
 * group with stdout and stderr appended to `<state>/logs/<name>.log`, so a Ctrl-C in the
 * terminal reaches only the supervisor, which then stops everything in order.
 */
import type { ServiceKind } from './plan';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sleep } from '../../../lib/lifecycle';
import { isAlive } from './state';

export interface SpawnSpec {
  command: string;
  args: string[];
  env: Record<string, string>;
  log: string;
  cwd: string;
}

export function spawnDetached(spec: SpawnSpec): number {
  const fd = openSync(spec.log, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: { ...process.env, ...spec.env },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves once the process is gone. */
export async function stopProcess(
  pid: number,
  timeoutMs = 20_000,
): Promise<'stopped' | 'killed' | 'absent'> {
  if (!isAlive(pid)) return 'absent';
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(100);
  }
  signal(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
  return 'killed';
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** The pids whose parent is `pid` (Linux /proc), e.g. nginx's worker processes. */
export function childPids(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid ...", comm may hold spaces and parens.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return children;
}

export const serviceEntry = (root: string, service: ServiceKind): string =>
  join(root, 'dist', 'services', service, 'main.js');

/**
 * Node (V8) flags of a service's process, for the environment it runs with. The edge's
 * heap is sized for its Kafka client (`INTAKE_KAFKA_CLIENT`), each measured
 * (docs/performance.md, "Issue 19, third pass"):
 * - kafkajs: a young generation of at most 2 x 8 MB (V8 lets it grow to 2 x 16 MB under
 *   load); a larger one costs this client CPU.
 * - @platformatic/kafka: a young generation of 2 x 16 MB, and an old generation grown to
 *   twice its live data after each full collection (V8 grows it up to 4x under a high
 *   allocation rate): about 40 MB less at peak for the same events per core. (V8 rounds
 *   the semi-space up to a power of two: 17 to 32 all mean 32, faster on batches but
 *   over 200 MB at peak.)
 * The edge image's command has kafkajs' flags; its entrypoint swaps in the other set when
 * the container runs on @platformatic/kafka (infra/images/service-entrypoint.sh).
 */
export const EDGE_NODE_FLAGS = {
  kafkajs: ['--max-semi-space-size=8'],
  platformatic: ['--max-semi-space-size=16', '--heap-growing-percent=100'],
} as const;

/**
 * The worker's, on either client: a young generation of at most 2 x 64 MB. Its chunks'
 * objects (parsed events, their outputs, the clients' buffers) die within a chunk, so a
 * larger young generation copies less and scavenges less often: more events/s per core on
 * both clients, at about the same peak RSS under a backlog, for about 110 MB more per
 * worker at half load (docs/performance.md, "The worker's young generation"). The worker
 * image's command has them too.
 */
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=64'] as const;

export const serviceNodeFlags = (
  service: ServiceKind,
  env: NodeJS.ProcessEnv = process.env,
): readonly string[] => {
  if (service === 'worker') return WORKER_NODE_FLAGS;
  if (service !== 'edge') return [];
  return EDGE_NODE_FLAGS[env.INTAKE_KAFKA_CLIENT === 'platformatic' ? 'platformatic' : 'kafkajs'];
};
