/**
 * The worker's processing alone (not a test): deduplication, the default pipeline
 * (validate, enrich, score) and the outputs registry (`services/worker/processing/`) over
 * chunks of raw records already in memory, without Kafka, the log or a transaction: the
 * share of the worker's CPU per event that is Intake's own code, measured without the
 * broker's noise.
 *
 *   npm run bench:processing
 *   BENCH_BASELINE_ROOT=/tmp/intake-old npm run bench:processing   (another build beside,
 *       interleaved: an A/B of a change to the processing)
 *
 * The records are those of `npm run bench:worker` (~300 B page views), their keys one raw
 * partition's share of its 5,000 visitors (BENCH_PROCESSING_VISITORS, 833), so a chunk
 * yields the score records it yields there. Two modes: `sbml` (deduplication off, SBML's
 * default) and `hml` (deduplication on, HML's default). Each repetition processes
 * BENCH_PROCESSING_CHUNKS (12) fresh chunks of BENCH_PROCESSING_CHUNK (8,000) records;
 * BENCH_REPS (7) repetitions after one unrecorded; prints each mode's median µs per event
 * (min-max) and the outbound records per event.
 */
import { resolve, join } from 'node:path';
import pino from 'pino';
import type { ConsumedRecord } from '../lib/kafka/port';
import { projectRoot } from '../lib/paths';
import type * as LocalProcessingModule from '../services/worker/processing/local-processing';
import type * as WorkerConfigModule from '../services/worker/config';
import { median } from './harness';
import { pageViewRecord } from './raw-records';

const ROOT = projectRoot(__dirname);
const REPS = Number(process.env.BENCH_REPS ?? 7);
const CHUNKS = Number(process.env.BENCH_PROCESSING_CHUNKS ?? 12);
const CHUNK = Number(process.env.BENCH_PROCESSING_CHUNK ?? 8000);
const VISITORS = Number(process.env.BENCH_PROCESSING_VISITORS ?? 833);
const PARTITIONS = 6;
const MODES = ['sbml', 'hml'] as const;
type Mode = (typeof MODES)[number];

interface Build {
  name: string;
  /** A fresh processing of `mode`, as the worker builds it from its configuration. */
  make(mode: Mode): { processing: LocalProcessingModule.LocalProcessing; rawTopic: string };
}

async function loadBuild(name: string, root: string): Promise<Build> {
  const { buildLocalProcessing } = (await import(
    join(root, 'dist', 'services/worker/processing/local-processing.js')
  )) as typeof LocalProcessingModule;
  const { loadWorkerConfig } = (await import(
    join(root, 'dist', 'services/worker/config.js')
  )) as typeof WorkerConfigModule;
  const silent = pino({ level: 'silent' });
  return {
    name,
    make(mode) {
      const config = loadWorkerConfig({ INTAKE_LOGGING: mode, INTAKE_INSTANCE: 'bench' });
      const { topics } = config.kafka;
      const partitionCounts: Record<string, number> = {};
      for (const topic of Object.values(topics))
        if (typeof topic === 'string') partitionCounts[topic] = PARTITIONS;
      const processing = buildLocalProcessing(
        {
          pipeline: config.pipeline,
          dedup: config.dedup,
          topics,
          partitionCounts,
          instance: config.instance,
        },
        silent,
      );
      return { processing, rawTopic: topics.raw };
    },
  };
}

let generated = 0;

/** A chunk of raw records as the consumer hands them over (fresh ids and offsets). */
function chunk(): ConsumedRecord[] {
  const base = generated;
  generated += CHUNK;
  return Array.from({ length: CHUNK }, (_, i) => {
    const n = base + i;
    const record = pageViewRecord(n, VISITORS);
    const headers: Record<string, Buffer> = {};
    for (const [name, value] of Object.entries(record.headers ?? {}))
      if (value !== undefined) headers[name] = Buffer.from(value);
    return {
      offset: String(n),
      key: Buffer.from(String(record.key)),
      value: Buffer.from(record.value!),
      headers,
      timestamp: String(Date.now()),
    };
  });
}

/** One repetition: µs per event over CHUNKS fresh chunks, and outbound records per event. */
async function repetition(
  processing: LocalProcessingModule.LocalProcessing,
  rawTopic: string,
): Promise<{ us: number; recordsPerEvent: number }> {
  const chunks = Array.from({ length: CHUNKS }, chunk);
  let records = 0;
  const started = process.hrtime.bigint();
  for (const messages of chunks) {
    const outcome = await processing.process({ topic: rawTopic, partition: 0, messages });
    processing.committed(0, outcome);
    records += outcome.records.length;
  }
  const events = CHUNKS * CHUNK;
  return {
    us: Number(process.hrtime.bigint() - started) / 1000 / events,
    recordsPerEvent: records / events,
  };
}

async function main(): Promise<void> {
  const builds = [await loadBuild('this checkout', ROOT)];
  if (process.env.BENCH_BASELINE_ROOT)
    builds.push(await loadBuild('baseline', resolve(process.env.BENCH_BASELINE_ROOT)));
  const runs = builds.flatMap((build) =>
    MODES.map((mode) => ({
      label: `${build.name}, ${mode}`,
      ...build.make(mode),
      us: [] as number[],
      recordsPerEvent: NaN,
    })),
  );
  for (let rep = 0; rep <= REPS; rep++) {
    for (const run of runs) {
      const r = await repetition(run.processing, run.rawTopic);
      if (rep === 0) continue; // warm-up: the JIT compiles
      run.us.push(r.us);
      run.recordsPerEvent = r.recordsPerEvent;
      console.log(`bench: rep ${rep}/${REPS} ${run.label}: ${r.us.toFixed(2)} µs/event`);
    }
  }
  console.log(
    `\nProcessing alone, chunks of ${CHUNK} records, median of ${REPS} repetitions (min-max)`,
  );
  console.table(
    Object.fromEntries(
      runs.map((r) => [
        r.label,
        {
          'µs/event': Number(median(r.us).toFixed(2)),
          min: Number(Math.min(...r.us).toFixed(2)),
          max: Number(Math.max(...r.us).toFixed(2)),
          'records/event': Number(r.recordsPerEvent.toFixed(3)),
        },
      ]),
    ),
  );
  await Promise.all(runs.map((r) => r.processing.close()));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
