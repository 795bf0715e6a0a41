/**
 * The HTTP load generator for the load tests and the benchmarks: vegeta
 * (github.com/tsenart/vegeta, MIT; installed into .intake/bin/ by
 * scripts/install-vegeta.sh). It runs an open model: requests start at a constant
 * arrival rate whether or not earlier ones have finished (k6's constant-arrival-rate; k6
 * itself is not used here: AGPL). With `rate: 0` it runs closed-loop instead: `maxWorkers`
 * workers each send the next request when the last one is answered (for the ceilings).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../lib/paths';

const ROOT = projectRoot(__dirname);

export interface Attack {
  url: string;
  /** The request body; several: one after the other, round robin (vegeta's targets). */
  body: string | readonly string[];
  apiKey?: string;
  /** Requests per second; 0 = as fast as `maxWorkers` closed-loop workers go. */
  rate: number;
  seconds: number;
  /** Concurrent requests at most (k6's maxVUs): beyond it, due requests are dropped late. */
  maxWorkers?: number;
  /** Pin the generator to these cores (taskset -c), e.g. "0". */
  cpus?: string;
  timeoutSeconds?: number;
}

export interface Latencies {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface AttackResult {
  requests: number;
  /** Requests per second that were started (vegeta's "rate"). */
  rate: number;
  /** Successful (2xx/3xx) answers per second (vegeta's "throughput"). */
  throughput: number;
  /** Share of 2xx/3xx answers. */
  success: number;
  latencyMs: Latencies;
  statusCodes: Record<string, number>;
  errors: string[];
  seconds: number;
}

/** The vegeta binary: $VEGETA, .intake/bin/vegeta, or vegeta on PATH; null when none. */
export function vegetaPath(): string | null {
  if (process.env.VEGETA) return process.env.VEGETA;
  const local = join(ROOT, '.intake', 'bin', 'vegeta');
  if (existsSync(local)) return local;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'vegeta'))) return join(dir, 'vegeta');
  }
  return null;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((ok, fail) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) fail(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
      else ok(stdout);
    });
  });
}

interface VegetaReport {
  latencies: Record<string, number>;
  requests: number;
  rate: number;
  throughput: number;
  success: number;
  status_codes: Record<string, number> | null;
  errors: string[] | null;
  duration: number;
}

/** One vegeta attack; resolves with its report (latencies in ms). */
export async function attack(a: Attack): Promise<AttackResult> {
  const vegeta = vegetaPath();
  if (!vegeta) throw new Error('vegeta is not installed: run scripts/install-vegeta.sh');
  const dir = mkdtempSync(join(tmpdir(), 'intake-vegeta-'));
  try {
    const header: Record<string, string[]> = { 'Content-Type': ['application/json'] };
    if (a.apiKey) header.Authorization = [`Bearer ${a.apiKey}`];
    const targets = (typeof a.body === 'string' ? [a.body] : a.body).map((body) =>
      JSON.stringify({
        method: 'POST',
        url: a.url,
        header,
        body: Buffer.from(body).toString('base64'),
      }),
    );
    writeFileSync(join(dir, 'targets.json'), `${targets.join('\n')}\n`);
    const args = [
      'attack',
      '-format=json',
      `-targets=${join(dir, 'targets.json')}`,
      `-duration=${a.seconds}s`,
      `-timeout=${a.timeoutSeconds ?? 30}s`,
      `-output=${join(dir, 'results.bin')}`,
    ];
    const workers = a.maxWorkers ?? 1000;
    if (a.rate > 0) args.push(`-rate=${a.rate}/1s`, `-max-workers=${workers}`);
    else args.push('-rate=0', `-workers=${workers}`, `-max-workers=${workers}`);
    if (a.cpus) await run('taskset', ['-c', a.cpus, vegeta, ...args]);
    else await run(vegeta, args);
    const report = JSON.parse(
      await run(vegeta, ['report', '-type=json', join(dir, 'results.bin')]),
    ) as VegetaReport;
    const ms = (k: string): number => +((report.latencies[k] ?? 0) / 1e6).toFixed(2);
    return {
      requests: report.requests,
      rate: report.rate,
      throughput: report.throughput,
      success: report.success,
      latencyMs: {
        p50: ms('50th'),
        p90: ms('90th'),
        p99: ms('99th'),
        max: ms('max'),
        mean: ms('mean'),
      },
      statusCodes: report.status_codes ?? {},
      errors: (report.errors ?? []).slice(0, 5),
      seconds: report.duration / 1e9,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
