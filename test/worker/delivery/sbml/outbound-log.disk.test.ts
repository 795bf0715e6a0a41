/**
 * The LMDB outbound log on a real, full tmpfs (no Kafka involved): an append that cannot
 * be written rejects with a retriable STORE_FAILED (never a crash, never an unhandled
 * rejection), nothing of it is in the log, what was acknowledged before stays, and once
 * space is free the same log appends again. Skips loudly where a tmpfs cannot be mounted;
 * fails there under CI=true (test/support/components.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntakeError } from '../../../../lib/errors';
import type { OutboundLogPort } from '../../../../services/worker/delivery/sbml/log-port';
import type { OutboundRecord } from '../../../../services/worker/outbound/record';
import { openOutboundLog } from '../../../../services/worker/delivery/sbml/outbound-log';
import { silentLogger } from '../../../support/fakes';
import { requireComponent } from '../../../support/components';
import { freeBytes, mountTmpfs, tmpfsUnavailable, unmount } from '../../../support/tmpfs';

const unavailable = !requireComponent('tmpfs', tmpfsUnavailable(), 'outbound log disk-full tests');
const itOnTmpfs = unavailable ? it.skip : it;

const entry = (i: number): OutboundRecord => ({
  topic: 'intake.processed',
  partition: i % 3,
  key: `k${i}`,
  value: Buffer.alloc(2000, i % 256),
  headers: { 'intake-id': `id-${i}` },
  id: `id-${i}`,
  source: { partition: i % 3, offset: String(i) },
  outcome: { kind: 'processed' },
});
const chunk = (from: number, n = 20): OutboundRecord[] =>
  Array.from({ length: n }, (_, i) => entry(from + i));
const offsets = (log: OutboundLogPort): string[] =>
  [...(log.pending() as Iterable<{ source: { offset: string } }>)].map((e) => e.source.offset);

describe('outbound log on a full disk (real LMDB, real tmpfs)', () => {
  // NOTE: lmdb-js also prints a failed commit's error itself (console.error from its writer
  // callback), sometimes after the test ended, which jest --ci counts as a failure; the
  // error is asserted through the append's rejection below, so its own print is muted.
  // Its writer thread may print after the store closed: the test waits for both prints.
  let lmdbPrints: jest.SpyInstance;
  beforeAll(() => {
    lmdbPrints = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  let mount: string;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    unhandled.push(reason);
  };

  beforeEach(() => {
    if (unavailable) return;
    mount = mkdtempSync(join(tmpdir(), 'intake-full-'));
    mountTmpfs(mount, 4 * 1024 * 1024);
    unhandled.length = 0;
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    if (unavailable) return;
    process.off('unhandledRejection', onUnhandled);
    unmount(mount);
    rmSync(mount, { recursive: true, force: true });
  });

  itOnTmpfs(
    'fails appends with a retriable STORE_FAILED, keeps what was acknowledged, and appends again once space is free',
    async () => {
      const dir = join(mount, 'log');
      const open = () =>
        openOutboundLog({ dir, maxEntries: 1e9, maxBytes: 1e12, logger: silentLogger() });
      let log = await open();
      // 1 MB of room for the log, then nothing: the filler takes the other blocks.
      const filler = join(mount, 'filler');
      execFileSync('fallocate', ['-l', String(freeBytes(mount) - 1024 * 1024), filler]);

      const acknowledged: string[] = [];
      let failure: unknown = null;
      for (let next = 0; next < 100_000 && failure === null; next += 20) {
        try {
          const logged = chunk(next);
          await log.append(logged);
          acknowledged.push(...logged.map((e) => e.source.offset));
        } catch (err) {
          failure = err;
        }
      }
      expect(failure).toBeInstanceOf(IntakeError);
      expect(failure).toMatchObject({ code: 'STORE_FAILED', retriable: true });
      expect((failure as Error).message).toMatch(/append failed: .*(error|space)/i);
      expect(log.stats()).toMatchObject({ failures: 1, entries: acknowledged.length });
      expect(log.stats().failing).toMatch(/append failed/);
      expect(acknowledged.length).toBeGreaterThan(0);
      // Nothing of the failed append is in the log; everything acknowledged is.
      expect(offsets(log)).toEqual(acknowledged);

      // Still full: appends keep failing the same clean way, no crash.
      await expect(log.append(chunk(1_000_000))).rejects.toMatchObject({ code: 'STORE_FAILED' });

      // Space freed: the same open log writes again, and reports healthy.
      unlinkSync(filler);
      const after = chunk(2_000_000);
      await log.append(after);
      expect(log.stats().failing).toBeNull();
      await log.remove(after.map((e) => e.seq!));
      await log.close();

      // Reopened: exactly what was acknowledged, in order.
      log = await open();
      expect(offsets(log)).toEqual(acknowledged);
      await log.close();
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
      // One print per failed commit (two above), while this file's console still exists.
      for (let waited = 0; lmdbPrints.mock.calls.length < 2 && waited < 10_000; waited += 50)
        await new Promise((r) => setTimeout(r, 50));
    },
  );
});
