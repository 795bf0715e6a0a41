/**
 * Worker benchmark (not a test): in ONE run, on the same broker and the same input, how
 * fast the worker moves events from the raw topic to the processed topic
 *
 *   - bare:     a consume -> produce pass-through (no pipeline, no log) on each client: the
 *               ceilings
 *   - sbml-off: the real worker process, send and wait for the ack before committing
 *   - sbml-on:  the real worker process with its outbound log (the default)
 *   - hml:      the real worker process with Kafka transactions (INTAKE_LOGGING=hml)
 *
 * each with the pass-through pipeline (to measure the delivery machinery, not the business
 * logic) and, for SBML on, also with the default validate/enrich/score pipeline; plus the
 * time to resend 100,000 pending log entries after a restart. A run's rate is taken from
 * the moment it is in its consumer group to its last output record (`RunRate`), alike for
 * the bare consume->produce and the worker; the start-up before it is reported apart. Over
 * the same span, from /proc: the CPU per event of the broker and of the process doing the
 * consume->produce, and the machine's idle share (`WindowCpu`). Figures are medians of
 * `BENCH_REPS` runs with min/max; ratios are computed within the run. Results go to
 * stdout and `bench/results-worker.json`.
 *
 *   npm run bench:worker          (BENCH_EVENTS=100000 BENCH_REPS=3 by default)
 *   BENCH_WARMUP_REPS=1 npm run bench:worker   (repetitions first, not recorded: the fresh
 *       broker's JIT compiles while they run, which its CPU per event would count)
 *   BENCH_MODES='bare consume->produce;worker, SBML on, pass-through' npm run bench:worker
 *   BENCH_WORKER_PROFILE_DIR=/tmp/prof npm run bench:worker   (each worker under --cpu-prof)
 *   BENCH_BASELINE_WORKER=../other/dist/services/worker/main.js npm run bench:worker
 *       (A/B: another build's worker runs beside this one, interleaved, as "baseline ...";
 *       BENCH_BASELINE_ENV='{"NAME":"value"}' adds to the baseline workers' environment, so
 *       the same build with another setting can be the baseline)
 *
 * `npm run bench` (bench/run.ts) reuses `workerFigures` on its own broker.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { KafkaClient, KafkaClientName } from '../lib/kafka/port';
import { projectRoot } from '../lib/paths';
import { withRetry } from '../lib/retry';
import { openOutboundLog } from '../services/worker/delivery/sbml/outbound-log';
import { OutboundSender } from '../services/worker/delivery/sbml/sender';
import { sendRecords, testKafka } from '../test/support/kafka-helpers';
import { serviceNodeFlags } from '../services/cli/fleet/processes';
import { cpuPerEvent, processCpuSeconds, sampleCpu } from './proc-cpu';
import { pageViewRecord } from './raw-records';
import type { CpuSample } from './proc-cpu';

const ROOT = projectRoot(__dirname);
const OFFSET = Number(process.env.INTAKE_TEST_PORT_OFFSET ?? 0);
let PORT = Number(process.env.BENCH_KAFKA_PORT ?? 49192) + OFFSET;
let N = Number(process.env.BENCH_EVENTS ?? 100_000);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const WARMUP_REPS = Number(process.env.BENCH_WARMUP_REPS ?? 0);
const RESEND = Number(process.env.BENCH_RESEND ?? 100_000);
const PARTITIONS = 6;
/** The raw records' visitors (keys). */
const VISITORS = 5000;
/** The worker with its chunks processed on a thread of their own (`services/worker/processing/`). */
const THREAD_ON = { INTAKE_WORKER_PROCESSING_THREAD: 'on' };
/** Every other row: on the consumer's thread, whatever the environment says. */
const THREAD_OFF = { INTAKE_WORKER_PROCESSING_THREAD: 'off' };
const brokerEnv = {
  ...process.env,
  INTAKE_STATE_DIR: join(ROOT, '.intake', 'bench'),
  INTAKE_KAFKA_PORT: String(PORT),
};
const makeKafka = (port: number): KafkaClient => testKafka([`127.0.0.1:${port}`]);
let kafka = makeKafka(PORT);
/** The broker's pid, for its CPU per event (NaN: not measured). */
let BROKER_PID = NaN;
const silent = pino({ level: 'silent' });
let seq = 0;
const name = (prefix: string): string => `${prefix}-${Date.now()}-${seq++}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function createTopics(names: string[], partitions = PARTITIONS): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics(
    names.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })),
  );
  await admin.disconnect();
}

/** Polls a topic's size (every 20 ms) until it holds `count` records; resolves with that time. */
async function waitForCount(topic: string, count: number, timeoutMs = 600_000): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const offsets = await withRetry(() => admin.fetchTopicOffsets(topic));
      const now = Date.now();
      if (offsets.reduce((sum, o) => sum + Number(o.high), 0) >= count) return now;
      if (now > deadline) throw new Error(`timed out waiting for ${count} records in ${topic}`);
      await sleep(20);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Polls a worker's `/readyz` (every 20 ms) until it answers 200 (in the group, consuming). */
async function waitForReady(port: number, timeoutMs = 120_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`)
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return Date.now();
    if (Date.now() > deadline) throw new Error(`the worker on port ${port} never became ready`);
    await sleep(20);
  }
}

/**
 * One run: events/s from the moment it is in the consumer group (the bare consume->produce:
 * its GROUP_JOIN; the worker: its first ready answer, given once its consumer joined) to
 * the last output record; and the seconds it took to get there (the worker: from its
 * process spawned; the bare consume->produce: from its `run()`, already connected).
 */
export interface RunRate {
  rate: number;
  startSeconds: number;
  cpu: WindowCpu;
  /** The worker process's peak RSS (absent for the bare consume->produce). */
  rssMb?: number;
}

/**
 * CPU over the same span as the rate (in the group to the last output record): µs per
 * event of the broker, of the process doing the consume->produce (the worker; for the bare
 * consume->produce, this benchmark's own process), of the whole machine (every process on
 * every core), and the share of the machine's CPU time left idle.
 */
export interface WindowCpu {
  brokerUs: number;
  consumerUs: number;
  machineUs: number;
  idleShare: number;
}

const cpuSample = (consumerPid: number): CpuSample => sampleCpu([BROKER_PID, consumerPid]);

function windowCpu(from: CpuSample, to: CpuSample): WindowCpu {
  const { processes, machine, idleShare } = cpuPerEvent(from, to, N);
  return { brokerUs: processes[0]!, consumerUs: processes[1]!, machineUs: machine, idleShare };
}

/** `kafka.sh status`'s pid of the broker it runs with `env` (its state dir and port). */
export function brokerPidOf(env: NodeJS.ProcessEnv): number {
  const status = execFileSync(join(ROOT, 'infra', 'kafka', 'kafka.sh'), ['status'], { env });
  return Number(/^running (\d+)/.exec(status.toString())?.[1] ?? NaN);
}

async function fillRaw(topic: string): Promise<void> {
  const producer = kafka.producer();
  await producer.connect();
  for (let start = 0; start < N; start += 2000) {
    const messages = Array.from({ length: Math.min(2000, N - start) }, (_, i) =>
      pageViewRecord(start + i, VISITORS),
    );
    await sendRecords(producer, topic, messages);
  }
  await producer.disconnect();
}

/** A bare consume -> produce pass-through on `client`; resolves with its steady events/s. */
async function runBare(raw: string, client: KafkaClientName = 'kafkajs'): Promise<RunRate> {
  const out = name('bare-out');
  await createTopics([out]);
  const on = client === 'kafkajs' ? kafka : testKafka([`127.0.0.1:${PORT}`], client);
  const consumer = on.consumer({ groupId: name('bare') });
  const producer = on.producer();
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe(raw, { fromBeginning: true });
  let joinedAt = NaN;
  let cpuAtJoin = cpuSample(process.pid);
  consumer.onGroupJoin(() => {
    if (!Number.isNaN(joinedAt)) return;
    joinedAt = Date.now();
    cpuAtJoin = cpuSample(process.pid);
  });
  const started = Date.now();
  await consumer.run({
    partitionsConsumedConcurrently: 3,
    eachBatch: async ({ batch, ...payload }) => {
      await producer.sendBatch({
        topicMessages: [
          {
            topic: out,
            messages: batch.messages.map((m) => ({
              key: m.key,
              value: m.value,
              headers: m.headers,
            })),
          },
        ],
      });
      await consumer.commitOffsets([
        {
          topic: batch.topic,
          partition: batch.partition,
          offset: (BigInt(batch.lastOffset()) + 1n).toString(),
        },
      ]);
      await payload.heartbeat();
    },
  });
  const doneAt = await waitForCount(out, N);
  const cpu = windowCpu(cpuAtJoin, cpuSample(process.pid));
  await consumer.disconnect();
  await producer.disconnect();
  return {
    rate: (N * 1000) / (doneAt - joinedAt),
    startSeconds: (joinedAt - started) / 1000,
    cpu,
  };
}

/** The real worker process on fresh outputs; resolves with events/s from ready to last ack. */
async function runWorker(
  raw: string,
  logging: 'sbml' | 'hml' | 'none',
  pipeline: string,
  main = join(ROOT, 'dist', 'services', 'worker', 'main.js'),
  env: Record<string, string> = {},
): Promise<RunRate & { rssMb: number; cpuUsPerEvent: number }> {
  const topics = {
    processed: name('out'),
    dlq: name('dlq'),
    scores: name('scores'),
    progress: name('progress'),
    replies: name('replies'),
    rejections: name('rejections'),
  };
  await createTopics(Object.values(topics));
  const dir = mkdtempSync(join(tmpdir(), 'bench-worker-'));
  const port = 26300 + OFFSET + (seq % 90);
  const profileDir = process.env.BENCH_WORKER_PROFILE_DIR;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  // As the fleet runs it (its Node flags), whichever build `main` is.
  const child = spawn(process.execPath, [...nodeArgs, ...serviceNodeFlags('worker'), main], {
    env: {
      ...process.env,
      INTAKE_LOG_LEVEL: process.env.BENCH_WORKER_LOG_LEVEL ?? 'warn',
      INTAKE_KAFKA_BROKERS: `127.0.0.1:${PORT}`,
      INTAKE_GROUP_ID: name('workers'),
      INTAKE_WORKER_ADMIN_PORT: String(port),
      INTAKE_TOPIC_RAW: raw,
      INTAKE_TOPIC_PROCESSED: topics.processed,
      INTAKE_TOPIC_DLQ: topics.dlq,
      INTAKE_TOPIC_SCORES: topics.scores,
      INTAKE_TOPIC_PROGRESS: topics.progress,
      INTAKE_TOPIC_REPLIES: topics.replies,
      INTAKE_TOPIC_REJECTIONS: topics.rejections,
      INTAKE_LOGGING: logging,
      INTAKE_PIPELINE: pipeline,
      INTAKE_OUTBOUND_LOG_DIR: join(dir, 'log'),
      ...env,
    },
    stdio: ['ignore', process.env.BENCH_WORKER_LOG_LEVEL ? 'inherit' : 'ignore', 'inherit'],
  });
  const started = Date.now();
  let peakRss = 0;
  const rss = setInterval(() => {
    try {
      const kb = Number(
        execFileSync('ps', ['-o', 'rss=', '-p', String(child.pid)])
          .toString()
          .trim(),
      );
      peakRss = Math.max(peakRss, kb);
    } catch {
      // exited
    }
  }, 200);
  let cpuSeconds: number;
  let cpu: WindowCpu;
  let readyAt: number;
  let doneAt: number;
  try {
    readyAt = await waitForReady(port);
    const atReady = cpuSample(child.pid!);
    // Up to the last record, as for the bare consume->produce: not the shutdown after it.
    doneAt = await waitForCount(topics.processed, N);
    cpuSeconds = processCpuSeconds(child.pid!);
    cpu = windowCpu(atReady, cpuSample(child.pid!));
  } finally {
    clearInterval(rss);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    rate: (N * 1000) / (doneAt - readyAt),
    startSeconds: (readyAt - started) / 1000,
    rssMb: Math.round(peakRss / 1024),
    cpuUsPerEvent: +((cpuSeconds * 1e6) / N).toFixed(1),
    cpu,
  };
}

/** Seconds to resend `entries` records left in an outbound log (a restart), on the current broker. */
export async function resendSeconds(entries = RESEND): Promise<number> {
  const RESEND = entries;
  const dir = mkdtempSync(join(tmpdir(), 'bench-resend-'));
  const topic = name('resend');
  await createTopics([topic]);
  let log = await openOutboundLog({ dir, maxEntries: 1e9, maxBytes: 1e12, logger: silent });
  const value = Buffer.alloc(300, 'x');
  for (let start = 0; start < RESEND; start += 1000) {
    await log.append(
      Array.from({ length: 1000 }, (_, i) => ({
        topic,
        partition: (start + i) % PARTITIONS,
        key: `k${start + i}`,
        value,
        headers: { 'intake-id': `id-${start + i}` },
        id: `id-${start + i}`,
        source: { partition: 0, offset: String(start + i) },
        outcome: { kind: 'processed' as const },
      })),
    );
  }
  await log.close();
  const producer = kafka.producer();
  await producer.connect();
  const started = Date.now();
  log = await openOutboundLog({ dir, maxEntries: 1e9, maxBytes: 1e12, logger: silent });
  const sender = new OutboundSender({ log, producer, logger: silent });
  const resent = await sender.resendPending();
  const seconds = (Date.now() - started) / 1000;
  if (resent !== RESEND || log.stats().entries !== 0)
    throw new Error(`resent ${resent}, ${log.stats().entries} left`);
  await log.close();
  await producer.disconnect();
  rmSync(dir, { recursive: true, force: true });
  return seconds;
}

export interface Figure {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

export function figure(runs: number[]): Figure {
  const sorted = [...runs].sort((a, b) => a - b);
  return {
    median: sorted[Math.floor(sorted.length / 2)]!,
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    runs,
  };
}

/**
 * The worker's figures on the broker at `port`: `events` of ~300 B in a fresh raw topic,
 * each mode run `reps` times, interleaved; events/s per mode and the worker's peak RSS.
 */
export async function workerFigures(opts: {
  port: number;
  events: number;
  reps: number;
  /** repetitions run first and not recorded */
  warmupReps?: number;
  modes?: string[];
  /** the broker's pid, for `windowCpu` (see `brokerPidOf`) */
  brokerPid?: number;
}): Promise<{
  results: Record<string, Figure>;
  rssMb: number;
  /** CPU time of the worker process per event, in µs (median over the repetitions). */
  cpuUsPerEvent: Record<string, number>;
  /** Seconds from a run's start to being in its consumer group (median; see `RunRate`). */
  startSeconds: Record<string, number>;
  /** Per mode, bare and worker: CPU over the rate's span (`WindowCpu`, medians of each). */
  windowCpu: Record<string, WindowCpu>;
}> {
  PORT = opts.port;
  N = opts.events;
  BROKER_PID = opts.brokerPid ?? NaN;
  kafka = makeKafka(PORT);
  let rssMb = 0;
  const cpu = new Map<string, number[]>();
  const worker = async (
    logging: 'sbml' | 'hml' | 'none',
    pipeline: string,
    main?: string,
    client = 'kafkajs',
    env: Record<string, string> = THREAD_OFF,
  ): Promise<RunRate> => {
    const r = await runWorker(raw, logging, pipeline, main, {
      INTAKE_KAFKA_CLIENT: client,
      ...env,
      ...(main ? baselineEnv : {}),
    });
    rssMb = Math.max(rssMb, r.rssMb);
    const by = client === 'kafkajs' ? '' : ` (${client})`;
    const thread = env.INTAKE_WORKER_PROCESSING_THREAD === 'on' ? ', processing thread' : '';
    const key = `${main ? 'baseline ' : ''}${logging}/${pipeline}${by}${thread}`;
    cpu.set(key, [...(cpu.get(key) ?? []), r.cpuUsPerEvent]);
    return r;
  };
  const baseline = process.env.BENCH_BASELINE_WORKER;
  const baselineEnv = JSON.parse(process.env.BENCH_BASELINE_ENV ?? '{}') as Record<string, string>;
  const raw = name('raw');
  await createTopics([raw]);
  process.stderr.write(`bench: writing ${N} events (~300 B) to ${raw} ...\n`);
  await fillRaw(raw);
  const all: [string, () => Promise<RunRate>][] = [
    ['bare consume->produce', () => runBare(raw)],
    ['bare consume->produce (platformatic)', () => runBare(raw, 'platformatic')],
    ['worker, SBML off, pass-through', () => worker('none', 'pass-through')],
    ['worker, SBML on, pass-through', () => worker('sbml', 'pass-through')],
    ['worker, SBML on, validate,enrich,score', () => worker('sbml', 'validate,enrich,score')],
    ['worker, HML, pass-through', () => worker('hml', 'pass-through')],
    ['worker, HML, validate,enrich,score', () => worker('hml', 'validate,enrich,score')],
    [
      'worker (platformatic), SBML on, pass-through',
      () => worker('sbml', 'pass-through', undefined, 'platformatic'),
    ],
    [
      'worker (platformatic), SBML on, validate,enrich,score',
      () => worker('sbml', 'validate,enrich,score', undefined, 'platformatic'),
    ],
    [
      'worker (platformatic), HML, validate,enrich,score',
      () => worker('hml', 'validate,enrich,score', undefined, 'platformatic'),
    ],
    [
      'worker (platformatic, processing thread), SBML on, validate,enrich,score',
      () => worker('sbml', 'validate,enrich,score', undefined, 'platformatic', THREAD_ON),
    ],
    [
      'worker (platformatic, processing thread), HML, validate,enrich,score',
      () => worker('hml', 'validate,enrich,score', undefined, 'platformatic', THREAD_ON),
    ],
    ...(baseline
      ? ([
          [
            'baseline worker, SBML on, pass-through',
            () => worker('sbml', 'pass-through', baseline),
          ],
          [
            'baseline worker, SBML on, validate,enrich,score',
            () => worker('sbml', 'validate,enrich,score', baseline),
          ],
          [
            'baseline worker, HML, validate,enrich,score',
            () => worker('hml', 'validate,enrich,score', baseline),
          ],
          [
            'baseline worker (platformatic), SBML on, validate,enrich,score',
            () => worker('sbml', 'validate,enrich,score', baseline, 'platformatic'),
          ],
          [
            'baseline worker (platformatic), HML, validate,enrich,score',
            () => worker('hml', 'validate,enrich,score', baseline, 'platformatic'),
          ],
        ] as [string, () => Promise<RunRate>][])
      : []),
  ];
  const modes = all.filter(([m]) => !opts.modes || opts.modes.includes(m));
  const runs = new Map<string, number[]>(modes.map(([m]) => [m, []]));
  const starts = new Map<string, number[]>(modes.map(([m]) => [m, []]));
  const cpus = new Map<string, WindowCpu[]>(modes.map(([m]) => [m, []]));
  for (let rep = -(opts.warmupReps ?? 0); rep < opts.reps; rep++) {
    // Interleaved repetitions: drift on this shared machine hits every mode alike; every
    // other repetition runs them in reverse, so no mode always runs first or last.
    for (const [mode, run] of rep % 2 === 0 ? modes : [...modes].reverse()) {
      const { rate, startSeconds, cpu, rssMb: peakMb } = await run();
      if (rep < 0) {
        process.stderr.write(`bench: warm-up ${mode}: ${Math.round(rate)} events/s\n`);
        continue;
      }
      runs.get(mode)!.push(Math.round(rate));
      starts.get(mode)!.push(+startSeconds.toFixed(2));
      cpus.get(mode)!.push(cpu);
      process.stderr.write(
        `bench: rep ${rep + 1}/${opts.reps} ${mode}: ${Math.round(rate)} events/s (in the group after ${startSeconds.toFixed(2)} s; CPU µs/event: broker ${cpu.brokerUs}, consumer ${cpu.consumerUs}, machine ${cpu.machineUs}, idle ${cpu.idleShare}${peakMb === undefined ? '' : `; peak RSS ${peakMb} MB`})\n`,
      );
    }
    if (rep < 0) cpu.clear();
  }
  const results = Object.fromEntries([...runs].map(([m, r]) => [m, figure(r)]));
  const cpuUsPerEvent = Object.fromEntries([...cpu].map(([m, r]) => [m, figure(r).median]));
  const startSeconds = Object.fromEntries([...starts].map(([m, r]) => [m, figure(r).median]));
  const median = (c: WindowCpu[], k: keyof WindowCpu): number => figure(c.map((x) => x[k])).median;
  const windowCpu = Object.fromEntries(
    [...cpus].map(([m, c]) => [
      m,
      {
        brokerUs: median(c, 'brokerUs'),
        consumerUs: median(c, 'consumerUs'),
        machineUs: median(c, 'machineUs'),
        idleShare: median(c, 'idleShare'),
      },
    ]),
  );
  return { results, rssMb, cpuUsPerEvent, startSeconds, windowCpu };
}

async function main(): Promise<void> {
  const kafkaSh = join(ROOT, 'infra', 'kafka', 'kafka.sh');
  execFileSync(kafkaSh, ['stop'], { env: brokerEnv, stdio: 'inherit' });
  rmSync(brokerEnv.INTAKE_STATE_DIR, { recursive: true, force: true });
  execFileSync(kafkaSh, ['start'], { env: brokerEnv, stdio: 'inherit' });
  execFileSync(kafkaSh, ['wait'], { env: brokerEnv, stdio: 'inherit' });
  try {
    const modes = process.env.BENCH_MODES?.split(';').map((m) => m.trim());
    const { results, cpuUsPerEvent, startSeconds, windowCpu } = await workerFigures({
      port: PORT,
      events: N,
      reps: REPS,
      warmupReps: WARMUP_REPS,
      modes,
      brokerPid: brokerPidOf(brokerEnv),
    });
    const rate = (m: string): number => results[m]?.median ?? NaN;
    const resend = figure([await resendSeconds(), await resendSeconds()]);
    const report = {
      machine: { cores: (await import('node:os')).cpus().length, node: process.version },
      events: N,
      repetitions: REPS,
      eventsPerSecond: results,
      cpuUsPerEvent,
      startSeconds,
      windowCpu,
      ratios: {
        sbmlOnVsOff: +(
          rate('worker, SBML on, pass-through') / rate('worker, SBML off, pass-through')
        ).toFixed(3),
        sbmlOnVsBare: +(
          rate('worker, SBML on, pass-through') / rate('bare consume->produce')
        ).toFixed(3),
        sbmlOffVsBare: +(
          rate('worker, SBML off, pass-through') / rate('bare consume->produce')
        ).toFixed(3),
      },
      resend: { entries: RESEND, seconds: resend },
      at: new Date().toISOString(),
    };
    writeFileSync(
      join(ROOT, 'bench', 'results-worker.json'),
      `${JSON.stringify(report, null, 2)}\n`,
    );
    console.log(
      `\nWorker throughput, ${N} events of ~300 B, median of ${REPS} (min-max), events/s`,
    );
    console.table(
      Object.fromEntries(
        Object.entries(results).map(([m, f]) => [m, { median: f.median, min: f.min, max: f.max }]),
      ),
    );
    console.log('ratios (same run):', report.ratios);
    console.log('worker CPU per event (µs, median):', cpuUsPerEvent);
    console.log('seconds from start to in the group (median):', startSeconds);
    const cores = report.machine.cores;
    console.log(
      `CPU per event over the rate's span (µs, medians): the broker, the consume->produce's process (bare: this one), both, the rate ${cores} cores would allow for both alone, the machine, its idle share`,
    );
    console.table(
      Object.fromEntries(
        Object.entries(windowCpu).map(([m, c]) => [
          m,
          {
            broker: c.brokerUs,
            consumer: c.consumerUs,
            both: +(c.brokerUs + c.consumerUs).toFixed(1),
            'cores allow': Math.round((cores * 1e6) / (c.brokerUs + c.consumerUs)),
            machine: c.machineUs,
            idle: c.idleShare,
          },
        ]),
      ),
    );
    console.log(
      `resend of ${RESEND} pending log entries: ${resend.median.toFixed(2)} s (runs ${resend.runs.map((s) => s.toFixed(2)).join(', ')})`,
    );
    console.log('written to bench/results-worker.json');
  } finally {
    execFileSync(kafkaSh, ['stop'], { env: brokerEnv, stdio: 'inherit' });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
