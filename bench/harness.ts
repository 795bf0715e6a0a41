/**
 * What the benchmarks share: an HTTP load run (autocannon, the same generator for every
 * target), the median of repetitions, and the environment of a benchmark fleet.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { projectRoot } from '../lib/paths';

export async function load(
  url: string,
  body: string,
  key: string,
  seconds: number,
  connections: number,
): Promise<{ rps: number; p99: number; errors: number }> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body,
  });
  const non2xx = result.non2xx + result.errors + result.timeouts;
  return { rps: result.requests.average, p99: result.latency.p99, errors: non2xx };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * The environment of a benchmark fleet (`intake up`): its own state directory and ports,
 * no workers, no demo puller, and the per-key rate limit lifted (it would cap the load
 * generator's single key).
 */
export function benchFleetEnv(o: {
  stateDir: string;
  httpPort: number;
  kafkaPort: number;
  workerBasePort: number;
  edges: number;
}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    INTAKE_STATE_DIR: o.stateDir,
    INTAKE_HTTP_PORT: String(o.httpPort),
    INTAKE_KAFKA_PORT: String(o.kafkaPort),
    INTAKE_WORKER_BASE_PORT: String(o.workerBasePort),
    INTAKE_EDGES: String(o.edges),
    INTAKE_WORKERS: '0',
    INTAKE_DEMO_PULLER: 'off',
    INTAKE_LOG_LEVEL: 'warn',
    INTAKE_RATE_LIMIT_PER_SECOND: '1000000',
    INTAKE_RATE_LIMIT_BURST: '1000000',
  };
}

/**
 * This checkout's CLI (`npm run intake -- ...`) with a bench fleet's environment: a
 * function of its arguments that returns what the command printed, trimmed (its errors
 * go to this process's stderr).
 */
export function benchCli(env: NodeJS.ProcessEnv): (...args: string[]) => string {
  const main = join(projectRoot(__dirname), 'dist', 'services', 'cli', 'main.js');
  return (...args) =>
    execFileSync(process.execPath, [main, ...args], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
}
