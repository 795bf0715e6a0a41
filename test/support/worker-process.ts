/**
 * Runs real service processes (the built `dist/services/<service>/main.js`) against the
 * test broker, for the fault tests: start, SIGKILL, SIGTERM, restart (a worker keeps its
 * outbound log).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { createWriteStream, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT, TEST_BROKER } from './test-env';
import type { Admin } from '../../lib/kafka/port';
import { serviceNodeFlags } from '../../services/cli/fleet/processes';
import { createTopic, randomName, waitFor } from './kafka-helpers';

export interface WorkerTopics {
  raw: string;
  processed: string;
  dlq: string;
  scores: string;
  progress: string;
  replies: string;
  rejections: string;
}

/** Fresh random topics for a worker group: raw and outputs with `partitions`, the rest 1. */
export async function createWorkerTopics(admin: Admin, partitions: number): Promise<WorkerTopics> {
  const topics = {
    raw: randomName('raw'),
    processed: randomName('processed'),
    dlq: randomName('dlq'),
    scores: randomName('scores'),
    progress: randomName('progress'),
    replies: randomName('replies'),
    rejections: randomName('rejections'),
  };
  for (const t of [topics.raw, topics.processed, topics.dlq, topics.scores])
    await createTopic(admin, t, partitions);
  for (const t of [topics.progress, topics.replies, topics.rejections])
    await createTopic(admin, t, 1);
  return topics;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

/** A built service (`dist/services/<service>/main.js`) as a child process with an admin port. */
export class ServiceProcess {
  child: ChildProcess | null = null;
  port = 0;
  readonly logFile: string;

  constructor(
    readonly name: string,
    private readonly service: 'worker' | 'puller',
    stateDir: string,
    /** The service's environment, given its admin port. */
    private readonly env: (port: number) => Record<string, string>,
  ) {
    mkdirSync(stateDir, { recursive: true });
    this.logFile = join(stateDir, `${name}.log`);
  }

  async start(extraEnv: Record<string, string> = {}): Promise<void> {
    this.port = await freePort();
    const out = createWriteStream(this.logFile, { flags: 'a' });
    const child = spawn(
      process.execPath,
      [
        ...serviceNodeFlags(this.service, { ...process.env, ...extraEnv }),
        resolve(ROOT, 'dist', 'services', this.service, 'main.js'),
      ],
      {
        env: {
          ...process.env,
          INTAKE_INSTANCE: this.name,
          INTAKE_KAFKA_BROKERS: TEST_BROKER.brokers.join(','),
          ...this.env(this.port),
          ...extraEnv,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    this.child = child;
  }

  async ready(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => {
        if (this.child?.exitCode !== null)
          throw new Error(
            `${this.name} exited (code ${this.child?.exitCode}); see ${this.logFile}`,
          );
        try {
          return (await fetch(`http://127.0.0.1:${this.port}/readyz`)).status === 200;
        } catch {
          return false;
        }
      },
      { timeoutMs, what: `${this.name} ready` },
    );
  }

  async metric(name: string): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  }

  async kill(signal: NodeJS.Signals): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return child?.exitCode ?? null;
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill(signal);
    return exited;
  }

  /** Resolves with the exit code once the process ended by itself. */
  exited(): Promise<number | null> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null)
      return Promise.resolve(child?.exitCode ?? null);
    return new Promise((r) => child.once('exit', (code) => r(code)));
  }
}

export class WorkerProcess extends ServiceProcess {
  readonly logDir: string;

  constructor(
    name: string,
    opts: {
      topics: WorkerTopics;
      groupId: string;
      stateDir: string;
      env?: Record<string, string>;
    },
  ) {
    const logDir = join(opts.stateDir, name, 'outbound-log');
    const { topics } = opts;
    super(name, 'worker', opts.stateDir, (port) => ({
      INTAKE_WORKER_ADMIN_PORT: String(port),
      INTAKE_GROUP_ID: opts.groupId,
      INTAKE_TOPIC_RAW: topics.raw,
      INTAKE_TOPIC_PROCESSED: topics.processed,
      INTAKE_TOPIC_DLQ: topics.dlq,
      INTAKE_TOPIC_SCORES: topics.scores,
      INTAKE_TOPIC_PROGRESS: topics.progress,
      INTAKE_TOPIC_REPLIES: topics.replies,
      INTAKE_TOPIC_REJECTIONS: topics.rejections,
      INTAKE_OUTBOUND_LOG_DIR: logDir,
      ...opts.env,
    }));
    this.logDir = logDir;
    mkdirSync(logDir, { recursive: true });
  }
}

/**
 * A puller process of one SSE upstream (`name` at `url`) writing to `topics`, with fast
 * reconnects (50 ms doubling to 500 ms); `env` adds or overrides variables.
 */
export function pullerProcess(
  id: string,
  upstream: { name: string; url: string },
  topics: { raw: string; positions: string },
  env: Record<string, string> = {},
): ServiceProcess {
  return new ServiceProcess(id, 'puller', join(ROOT, '.intake', 'test-puller'), (port) => ({
    INTAKE_PULLER_ADMIN_PORT: String(port),
    INTAKE_TOPIC_RAW: topics.raw,
    INTAKE_TOPIC_PULLER_POSITIONS: topics.positions,
    INTAKE_PULLER_UPSTREAMS: JSON.stringify([{ ...upstream, format: 'sse' }]),
    INTAKE_PULLER_BACKOFF_MS: '50',
    INTAKE_PULLER_MAX_BACKOFF_MS: '500',
    ...env,
  }));
}
