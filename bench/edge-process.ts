/**
 * One edge process outside the fleet, for the benchmark (the profiled edge, under
 * `--cpu-prof`) and for measurements by hand with other settings (`env`). It runs
 * `dist/`, so `npm run build` first, with the Node flags the fleet gives an edge
 * (`serviceNodeFlags`); resolves once `/readyz` answers 200.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { serviceNodeFlags } from '../services/cli/fleet/processes';

export interface BenchEdge {
  url: string;
  process: ChildProcess;
  /** SIGTERM, then resolves when the process has exited (a profile is written by then). */
  stop(): Promise<void>;
}

export async function startBenchEdge(opts: {
  root: string;
  brokers: string;
  port: number;
  apiKey: string;
  /** Working directory of the edge's local views. */
  dir: string;
  instance: string;
  nodeArgs?: string[];
  /** The edge's own Node flags (default: the fleet's, `serviceNodeFlags`). */
  edgeFlags?: string[];
  env?: NodeJS.ProcessEnv;
}): Promise<BenchEdge> {
  const env = {
    ...process.env,
    INTAKE_LOG_LEVEL: 'warn',
    INTAKE_INSTANCE: opts.instance,
    INTAKE_KAFKA_BROKERS: opts.brokers,
    INTAKE_EDGE_PORT: String(opts.port),
    INTAKE_EDGE_VIEW_DIR: join(opts.dir, 'views'),
    // The local fleet's source: sources are fleet-wide, and one key in two sources is refused.
    INTAKE_API_KEYS: `local:${opts.apiKey}:*`,
    INTAKE_RATE_LIMIT_PER_SECOND: '1000000',
    INTAKE_RATE_LIMIT_BURST: '1000000',
    INTAKE_DRAIN_GRACE_MS: '0',
    ...opts.env,
  };
  const edge = spawn(
    process.execPath,
    [
      ...(opts.edgeFlags ?? serviceNodeFlags('edge', env)),
      ...(opts.nodeArgs ?? []),
      join(opts.root, 'dist', 'services', 'edge', 'main.js'),
    ],
    {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${opts.port}`;
  const exited = (): boolean => edge.exitCode !== null || edge.signalCode !== null;
  const stop = async (): Promise<void> => {
    if (exited()) return;
    edge.kill('SIGTERM');
    await new Promise((r) => edge.once('exit', r));
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, process: edge, stop };
    if (Date.now() > deadline || exited()) {
      edge.kill('SIGKILL');
      throw new Error(`the bench edge ${opts.instance} did not start`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
