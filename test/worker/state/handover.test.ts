import { Handover } from '../../../services/worker/state/handover';
import type { HandoverDeps } from '../../../services/worker/state/handover';
import { silentLogger } from '../../support/fakes';

type Progress = { deliveredUpTo: string; worker: string };

function handover(opts: {
  committed: Record<number, string>;
  progress: Map<string, Progress>;
  pending?: Set<number>;
  timeoutMs?: number;
  noProgressGraceMs?: number;
}): { handover: Handover; fetches: () => number } {
  let fetches = 0;
  const admin: HandoverDeps['admin'] = {
    fetchOffsets: () => {
      fetches += 1;
      return Promise.resolve(
        Object.entries(opts.committed).map(([p, offset]) => ({ partition: Number(p), offset })),
      );
    },
  };
  return {
    handover: new Handover({
      admin,
      groupId: 'g',
      rawTopic: 'raw',
      progress: opts.progress,
      pendingHere: (p) => opts.pending?.has(p) ?? false,
      worker: 'me',
      timeoutMs: opts.timeoutMs ?? 5000,
      noProgressGraceMs: opts.noProgressGraceMs ?? 5000,
      pollMs: 5,
      logger: silentLogger(),
    }),
    fetches: () => fetches,
  };
}

describe('Handover', () => {
  it('settles at once when the group never committed the partitions', async () => {
    const { handover: h, fetches } = handover({ committed: { 0: '-1' }, progress: new Map() });
    const started = Date.now();
    await h.settled([0, 1]);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(fetches()).toBe(1);
  });

  it("waits until the previous owner's progress reaches the committed offset", async () => {
    const progress = new Map<string, Progress>([
      ['raw/0', { deliveredUpTo: '40', worker: 'other' }],
      ['raw/1', { deliveredUpTo: '70', worker: 'other' }],
    ]);
    const { handover: h } = handover({ committed: { 0: '50', 1: '70' }, progress });
    let done = false;
    const settled = h.settled([0, 1]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false); // partition 0: records of offsets 40..49 are still in flight
    progress.set('raw/0', { deliveredUpTo: '50', worker: 'other' });
    await settled;
    expect(done).toBe(true);
  });

  it('waits while no progress was published for a committed partition', async () => {
    const progress = new Map<string, Progress>();
    const { handover: h } = handover({ committed: { 2: '10' }, progress });
    let done = false;
    const settled = h.settled([2]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    progress.set('raw/2', { deliveredUpTo: '12', worker: 'other' });
    await settled;
  });

  it('settles when no progress record of a committed partition appears within the grace (nothing of it was in flight)', async () => {
    const progress = new Map<string, Progress>([['raw/0', { deliveredUpTo: '1', worker: 'gone' }]]);
    const { handover: h } = handover({
      committed: { 0: '9', 2: '10' },
      progress,
      timeoutMs: 60_000,
      noProgressGraceMs: 100,
    });
    let settled: number[] = [];
    const started = Date.now();
    const wait = h.settled([2]).then(() => (settled = [2]));
    await wait;
    expect(settled).toEqual([2]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    expect(Date.now() - started).toBeLessThan(30_000);
    // A partition with a record behind the committed offset still waits for it.
    let done = false;
    void h.settled([0]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    progress.set('raw/0', { deliveredUpTo: '9', worker: 'gone' });
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(true);
  });

  it('settles on its own record once nothing of the partition is pending here (a restart resent the log)', async () => {
    const progress = new Map<string, Progress>([['raw/0', { deliveredUpTo: '5', worker: 'me' }]]);
    const pending = new Set([0]);
    const { handover: h } = handover({ committed: { 0: '9' }, progress, pending });
    let done = false;
    const settled = h.settled([0]).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    pending.delete(0);
    await settled;
  });

  it('gives up after the timeout, so a crashed previous owner does not stop the partition', async () => {
    const progress = new Map<string, Progress>([['raw/0', { deliveredUpTo: '1', worker: 'gone' }]]);
    const { handover: h } = handover({ committed: { 0: '9' }, progress, timeoutMs: 100 });
    const started = Date.now();
    await h.settled([0]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
  });
});
