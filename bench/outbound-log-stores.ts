/**
 * Which embedded store for the worker's outbound log (not a test): LMDB (`lmdb`, synced
 * commits: the implementation in services/worker/delivery/sbml/outbound-log.ts) against SQLite
 * (`better-sqlite3`, WAL with synchronous=FULL), both crash-safe, on the worker's exact
 * pattern: append a chunk durably (one sync per chunk), and delete chunks as their
 * acknowledgements arrive a few chunks later. Prints records/s and append latency;
 * writes bench/results-outbound-log.json.
 *
 *   npm run bench:outbound-log     (BENCH_RECORDS=50000)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pino from 'pino';
import { projectRoot } from '../lib/paths';
import type { OutboundRecord } from '../services/worker/outbound/record';
import { openOutboundLog } from '../services/worker/delivery/sbml/outbound-log';

const N = Number(process.env.BENCH_RECORDS ?? 50_000);
const ACK_LAG = 4; // chunks in flight before their acknowledgement deletes them

interface Store {
  append(records: OutboundRecord[]): Promise<number[]>;
  remove(seqs: number[]): Promise<void>;
  close(): Promise<void>;
}

/** LMDB through the worker's real implementation (synced commits, group commit per turn). */
async function lmdbStore(dir: string): Promise<Store> {
  const log = await openOutboundLog({
    dir,
    maxEntries: 1e12,
    maxBytes: 1e15,
    logger: pino({ level: 'silent' }),
  });
  return {
    append: async (records) => {
      await log.append(records);
      return records.map((r) => r.seq!);
    },
    remove: (seqs) => log.remove(seqs),
    close: () => log.close(),
  };
}

/** SQLite, WAL with synchronous=FULL: one synced transaction per append (it is synchronous). */
function sqliteStore(dir: string): Promise<Store> {
  const db = new Database(join(dir, 'outbound.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(
    'CREATE TABLE IF NOT EXISTS outbound (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT, part INTEGER, k TEXT, v BLOB, h TEXT, src TEXT)',
  );
  const insert = db.prepare(
    'INSERT INTO outbound (topic, part, k, v, h, src) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const del = db.prepare('DELETE FROM outbound WHERE seq = ?');
  const appendMany = db.transaction((entries: OutboundRecord[]) =>
    entries.map((e) =>
      Number(
        insert.run(
          e.topic,
          e.partition,
          e.key,
          e.value,
          JSON.stringify(e.headers),
          JSON.stringify(e.source),
        ).lastInsertRowid,
      ),
    ),
  );
  const removeMany = db.transaction((seqs: number[]) => {
    for (const s of seqs) del.run(s);
  });
  return Promise.resolve({
    append: (entries) => Promise.resolve(appendMany(entries)),
    remove: (seqs) => Promise.resolve(removeMany(seqs)),
    close: () => Promise.resolve(void db.close()),
  });
}

/**
 * `streams` concurrent appenders, as the worker has with partitions consumed
 * concurrently: LMDB can commit their chunks in one transaction; SQLite commits each.
 */
async function run(
  store: Store,
  chunk: number,
  size: number,
  streams: number,
): Promise<{ recordsPerSecond: number; p50ms: number; p99ms: number }> {
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: streams }, (_, s) =>
      stream(store, chunk, size, Math.floor(N / streams), s, latencies),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    recordsPerSecond: Math.round(N / seconds),
    p50ms: +latencies[Math.floor(latencies.length / 2)]!.toFixed(2),
    p99ms: +latencies[Math.floor(latencies.length * 0.99)]!.toFixed(2),
  };
}

async function stream(
  store: Store,
  chunk: number,
  size: number,
  count: number,
  id: number,
  latencies: number[],
): Promise<void> {
  const value = Buffer.alloc(size, 'x');
  const pending: number[][] = [];
  for (let done = 0; done < count; done += chunk) {
    const entries = Array.from({ length: chunk }, (_, i): OutboundRecord => ({
      topic: 'intake.processed',
      partition: (done + i) % 6,
      key: `visitor-${done + i}`,
      value,
      headers: { 'intake-id': `id-${done + i}` },
      id: `id-${done + i}`,
      source: { partition: id, offset: String(done + i) },
      outcome: { kind: 'processed' },
    }));
    const t = process.hrtime.bigint();
    pending.push(await store.append(entries));
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (pending.length > ACK_LAG) await store.remove(pending.shift()!);
  }
  for (const seqs of pending) await store.remove(seqs);
}

async function main(): Promise<void> {
  const results: Record<string, unknown>[] = [];
  for (const [chunk, size, streams] of [
    [100, 300, 1],
    [100, 1024, 1],
    [500, 300, 1],
    [500, 1024, 1],
    [100, 300, 3],
    [500, 1024, 3],
  ] as const) {
    {
      for (const [name, open] of [
        ['lmdb', lmdbStore],
        ['sqlite (WAL, synchronous=FULL)', sqliteStore],
      ] as const) {
        const dir = mkdtempSync(join(tmpdir(), 'bench-store-'));
        const store = await open(dir);
        const r = await run(store, chunk, size, streams);
        await store.close();
        rmSync(dir, { recursive: true, force: true });
        results.push({ store: name, chunk, bytes: size, streams, ...r });
        process.stderr.write(
          `bench: ${name} chunk=${chunk} bytes=${size} streams=${streams}: ${r.recordsPerSecond} records/s, append p50 ${r.p50ms} ms p99 ${r.p99ms} ms\n`,
        );
      }
    }
  }
  writeFileSync(
    join(projectRoot(__dirname), 'bench', 'results-outbound-log.json'),
    `${JSON.stringify({ records: N, ackLag: ACK_LAG, results, at: new Date().toISOString() }, null, 2)}\n`,
  );
  console.table(results);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
