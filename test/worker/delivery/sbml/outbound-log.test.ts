/**
 * The LMDB outbound log on disk (no Kafka involved): order, deletes, sequence numbers
 * across reopen, crash survival (a child process killed with SIGKILL right after its
 * append resolved), group commit, the fullness bound.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { open as openLmdb } from 'lmdb';
import type { OutboundRecord } from '../../../../services/worker/outbound/record';
import { openOutboundLog } from '../../../../services/worker/delivery/sbml/outbound-log';
import { silentLogger } from '../../../support/fakes';

const ROOT = resolve(__dirname, '..', '..', '..', '..');
const entry = (i: number, size = 100): OutboundRecord => ({
  topic: 'intake.processed',
  partition: i % 3,
  key: `k${i}`,
  value: Buffer.alloc(size, i % 256),
  headers: { 'intake-id': `id-${i}` },
  id: `id-${i}`,
  source: { partition: i % 3, offset: String(i) },
  outcome: { kind: 'processed' },
});

describe('outbound log (LMDB)', () => {
  let dir: string;
  const open = (maxEntries = 1_000_000, maxBytes = 1 << 30) =>
    openOutboundLog({ dir, maxEntries, maxBytes, logger: silentLogger() });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'intake-log-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('returns appended records in order, and forgets removed ones', async () => {
    const log = await open();
    const logged = [entry(1), entry(2), entry(3)];
    await log.append(logged);
    expect(logged.map((e) => e.seq)).toEqual([1, 2, 3]);
    await log.remove([2]);
    expect([...(log.pending() as Iterable<{ key: string }>)].map((e) => e.key)).toEqual([
      'k1',
      'k3',
    ]);
    expect(log.stats()).toMatchObject({ entries: 2, bytes: 200, appends: 3, removes: 1 });
    await log.close();
  });

  it('keeps entries and increasing sequence numbers across a reopen', async () => {
    let log = await open();
    await log.append([entry(1), entry(2)]);
    await log.close();
    log = await open();
    expect(log.stats().entries).toBe(2);
    const next = entry(3);
    await log.append([next]);
    expect(next.seq).toBe(3);
    const pending = [...(log.pending() as Iterable<OutboundRecord>)];
    expect(pending.map((e) => e.source.offset)).toEqual(['1', '2', '3']);
    expect(pending[0]?.value.equals(Buffer.alloc(100, 1))).toBe(true);
    expect(pending[0]).toEqual({ ...entry(1), seq: 1 });
    await log.close();
  });

  it('reads what a previous run left slice by slice: in order, once each, also while the reader deletes what it got', async () => {
    let log = await open();
    const all = Array.from({ length: 12_345 }, (_, i) => entry(i + 1, 10));
    await log.append(all);
    await log.close();
    log = await open();
    // Counted at open from the stored sizes: at least the values' bytes.
    expect(log.stats().entries).toBe(all.length);
    expect(log.stats().bytes).toBeGreaterThanOrEqual(all.length * 10);
    const seen: string[] = [];
    let got: number[] = [];
    for (const r of log.pending() as Iterable<OutboundRecord>) {
      seen.push(r.key);
      got.push(r.seq!);
      if (got.length === 1000) {
        await log.remove(got); // as the sender does, between records
        got = [];
      }
    }
    await log.remove(got);
    expect(seen).toEqual(all.map((e) => e.key));
    expect(log.stats()).toMatchObject({ entries: 0, bytes: 0 });
    await log.close();
  });

  it("keeps what a record is (its typed outcome, a dead letter's reason with it), its event and the edge waiting for it", async () => {
    const log = await open();
    await log.append([
      {
        ...entry(1),
        outcome: { kind: 'dlq', reason: 'data/price', step: 'validate' },
        replyTo: 'edge-3',
      },
      { ...entry(2), outcome: { kind: 'side' } },
    ]);
    const pending = [...(log.pending() as Iterable<OutboundRecord>)];
    expect(pending.map((r) => [r.outcome, r.id, r.replyTo])).toEqual([
      [{ kind: 'dlq', reason: 'data/price', step: 'validate' }, 'id-1', 'edge-3'],
      [{ kind: 'side' }, 'id-2', undefined],
    ]);
    await log.close();
  });

  it('keeps every appended entry when the process is killed with SIGKILL right after append resolved', async () => {
    const script = join(dir, 'crash.js');
    writeFileSync(
      script,
      `const { openOutboundLog } = require(${JSON.stringify(join(ROOT, 'dist/services/worker/delivery/sbml/outbound-log.js'))});
       const pino = require(${JSON.stringify(join(ROOT, 'node_modules/pino'))});
       (async () => {
         const log = await openOutboundLog({ dir: ${JSON.stringify(join(dir, 'db'))}, maxEntries: 1e9, maxBytes: 1e12, logger: pino({ level: 'silent' }) });
         const batch = Array.from({ length: 500 }, (_, i) => ({ topic: 't', partition: 0, key: 'k' + i, value: Buffer.from('v' + i),
           headers: {}, id: 'id-' + i, source: { partition: 0, offset: String(i) }, outcome: { kind: 'processed' } }));
         await log.append(batch);
         process.kill(process.pid, 'SIGKILL');
       })();`,
    );
    const run = spawnSync(process.execPath, [script], { timeout: 60_000 });
    // The child's stderr beside its signal: a child that ended otherwise says why.
    expect({ signal: run.signal, stderr: run.stderr.toString() }).toMatchObject({
      signal: 'SIGKILL',
    });
    dir = join(dir, 'db');
    const log = await open();
    expect(log.stats().entries).toBe(500);
    await log.close();
    dir = resolve(dir, '..');
  });

  it('keeps a chunk as one entry: deleted once all its records are acknowledged, resent whole after a restart until then', async () => {
    let log = await open();
    const chunk = [entry(1), entry(2), entry(3)];
    await log.append(chunk);
    await log.append([entry(4)]);
    await log.remove([1, 2]);
    expect(log.stats()).toMatchObject({ entries: 2, bytes: 200, removes: 2 });
    await log.close();
    // The crash case: records 1 and 2 were acknowledged, their entry still holds them.
    log = await open();
    expect([...(log.pending() as Iterable<OutboundRecord>)].map((r) => r.seq)).toEqual([
      1, 2, 3, 4,
    ]);
    await log.remove([1, 2, 3, 4]);
    await log.close();
    log = await open();
    expect(log.stats()).toMatchObject({ entries: 0, bytes: 0 });
    expect([...(log.pending() as Iterable<OutboundRecord>)]).toEqual([]);
    await log.append([entry(5)]);
    expect([...(log.pending() as Iterable<OutboundRecord>)].map((r) => r.key)).toEqual(['k5']);
    await log.close();
  });

  it('deletes every emptied entry when removes overlap', async () => {
    let log = await open();
    const chunks = Array.from({ length: 40 }, (_, c) => [entry(c * 2 + 1), entry(c * 2 + 2)]);
    for (const chunk of chunks) await log.append(chunk);
    // One remove per turn of the event loop: some land while an earlier one's delete is
    // being committed (its transaction ran, its promise not yet resolved).
    const removes: Promise<void>[] = [];
    for (const chunk of chunks) {
      removes.push(log.remove(chunk.map((r) => r.seq!)));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(removes);
    await log.close();
    log = await open();
    expect(log.stats()).toMatchObject({ entries: 0, bytes: 0 });
    await log.close();
  });

  it('resends the one-record entries an earlier version left, in order with the new ones', async () => {
    // The options and record layout of the earlier version's store.
    const old = openLmdb<Record<string, unknown>, number>({
      path: dir,
      compression: false,
      encoding: 'msgpack',
      useWritemap: false,
      eventTurnBatching: false,
      overlappingSync: false,
    });
    await old.transaction(() => {
      old.putSync(1, {
        t: 'intake.processed',
        p: 1,
        k: 'k1',
        v: Buffer.alloc(100, 1),
        h: { 'intake-id': 'id-1' },
        sp: 1,
        so: '1',
        o: 'processed',
      });
      old.putSync(2, {
        t: 'intake.dlq',
        p: 2,
        k: 'k2',
        v: Buffer.alloc(100, 2),
        h: { 'intake-id': 'id-2' },
        sp: 2,
        so: '2',
        o: 'dlq',
        x: ['data/price', 'validate'],
        r: 'edge-1',
      });
    });
    await old.close();
    const log = await open();
    expect(log.stats()).toMatchObject({ entries: 2, bytes: 200 });
    const next = entry(3);
    await log.append([next]);
    expect(next.seq).toBe(3);
    const pending = [...(log.pending() as Iterable<OutboundRecord>)];
    expect(pending[0]).toEqual({ ...entry(1), seq: 1 });
    expect(pending[1]).toMatchObject({
      id: 'id-2',
      outcome: { kind: 'dlq', reason: 'data/price', step: 'validate' },
      replyTo: 'edge-1',
      seq: 2,
    });
    expect(pending[2]).toEqual({ ...entry(3), seq: 3 });
    await log.remove([1, 2, 3]);
    expect(log.stats()).toMatchObject({ entries: 0, bytes: 0 });
    await log.close();
  });

  it('group-commits: many appends in one turn share few syncs', async () => {
    const log = await open();
    await Promise.all(
      Array.from({ length: 50 }, (_, b) =>
        log.append(Array.from({ length: 20 }, (_, i) => entry(b * 20 + i))),
      ),
    );
    const { appends, syncs } = log.stats();
    expect(appends).toBe(1000);
    expect(syncs).toBeLessThan(20);
    await log.close();
  });

  it('is full above its entry or byte bound, and not after removes', async () => {
    let log = await open(10);
    const logged = Array.from({ length: 10 }, (_, i) => entry(i));
    await log.append(logged);
    expect(log.isFull()).toBe(true);
    await log.remove(logged.slice(0, 5).map((e) => e.seq!));
    expect(log.isFull()).toBe(false);
    await log.close();
    rmSync(dir, { recursive: true, force: true });
    log = await open(1000, 1000);
    await log.append([entry(1, 600), entry(2, 600)]);
    expect(log.isFull()).toBe(true);
    await log.close();
  });
});
