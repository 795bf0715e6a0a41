/**
 * Streaming benchmark (not a test): in ONE run, through nginx to one edge on the same
 * broker, how many events/s one WebSocket stream carries (the bundled client: seq
 * numbers, cumulative acks, resend window) against batched POSTs of the same events
 * (`BENCH_BATCH` per request) over one connection and over `BENCH_CONNECTIONS`. Each
 * figure is the median of `BENCH_REPS` interleaved runs; results go to stdout and
 * bench/results-stream.json.
 *
 *   npm run bench:stream     (BENCH_EVENTS=100000 BENCH_SECONDS=10 BENCH_CONNECTIONS=16)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StreamClient } from '../lib/client/stream-client';
import { projectRoot } from '../lib/paths';
import { load, median } from './harness';

const ROOT = projectRoot(__dirname);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const HTTP_PORT = 48080;
const STATE = join(ROOT, '.intake', 'bench-stream');
const env: NodeJS.ProcessEnv = {
  ...process.env,
  INTAKE_STATE_DIR: STATE,
  INTAKE_HTTP_PORT: String(HTTP_PORT),
  INTAKE_KAFKA_PORT: '48092',
  INTAKE_WORKER_BASE_PORT: '48101',
  INTAKE_EDGES: '1',
  INTAKE_WORKERS: '0',
  INTAKE_DEMO_PULLER: 'off',
  INTAKE_LOG_LEVEL: 'warn',
  INTAKE_RATE_LIMIT_PER_SECOND: '1000000',
  INTAKE_RATE_LIMIT_BURST: '1000000',
};
const cli = (...args: string[]): void => {
  execFileSync(process.execPath, [join(ROOT, 'dist', 'services', 'cli', 'main.js'), ...args], {
    env,
    stdio: 'inherit',
  });
};

const event = (i: number): Record<string, unknown> => ({
  type: 'page_view',
  key: `visitor-${i % 1000}`,
  data: { path: `/products/${i}`, referrer: 'https://example.com/' },
});

async function overWebSocket(key: string): Promise<number> {
  const client = new StreamClient({ url: `ws://127.0.0.1:${HTTP_PORT}/v1/stream`, apiKey: key });
  const started = process.hrtime.bigint();
  for (let i = 0; i < EVENTS; i++) await client.send(event(i));
  await client.drain();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  client.close();
  if (client.lastAck !== EVENTS) throw new Error(`only ${client.lastAck} of ${EVENTS} acked`);
  return Math.round(EVENTS / seconds);
}

async function main(): Promise<void> {
  cli('down');
  cli('up', '--detach');
  const key = readFileSync(join(STATE, 'api-key'), 'utf8').trim();
  const url = `http://127.0.0.1:${HTTP_PORT}/v1/events`;
  const batch = JSON.stringify(Array.from({ length: BATCH }, (_, i) => event(i)));
  const runs: Record<string, number[]> = {};
  const record = (name: string, eventsPerSecond: number): void => {
    (runs[name] ??= []).push(Math.round(eventsPerSecond));
    process.stderr.write(`bench: ${name}: ${Math.round(eventsPerSecond)} events/s\n`);
  };
  try {
    for (let rep = 0; rep < REPS; rep++) {
      record('one WebSocket stream', await overWebSocket(key));
      const one = await load(url, batch, key, SECONDS, 1);
      record(`batched POSTs (${BATCH}/request), 1 connection`, one.rps * BATCH);
      const many = await load(url, batch, key, SECONDS, CONNECTIONS);
      record(`batched POSTs (${BATCH}/request), ${CONNECTIONS} connections`, many.rps * BATCH);
    }
  } finally {
    cli('down');
  }
  const medians = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
  const ws = medians['one WebSocket stream']!;
  const report = {
    method: {
      events: EVENTS,
      seconds: SECONDS,
      batch: BATCH,
      connections: CONNECTIONS,
      repetitions: REPS,
      path: 'nginx -> 1 edge -> Kafka (acks=all), no workers',
    },
    results: Object.fromEntries(
      Object.entries(runs).map(([k, v]) => [k, { eventsPerSecond: median(v), runs: v }]),
    ),
    ratios: Object.fromEntries(
      Object.entries(medians)
        .filter(([k]) => k !== 'one WebSocket stream')
        .map(([k, v]) => [`WebSocket vs ${k}`, +(ws / v).toFixed(3)]),
    ),
    at: new Date().toISOString(),
  };
  writeFileSync(join(ROOT, 'bench', 'results-stream.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nStreaming vs batched POSTs (${REPS} runs each, medians, events/s)`);
  console.table(report.results);
  console.log('ratios (same run):', report.ratios);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
