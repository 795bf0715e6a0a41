import { RecentIds } from '../../../services/worker/consumer/recent-ids';

const MIN = 60_000;

describe('RecentIds', () => {
  it('knows an id added on the partition within the window, and only there', () => {
    const ids = new RecentIds({ windowMs: 10 * MIN, maxPerPartition: 100 });
    ids.add(0, [{ id: 'a', at: 1000 }]);
    expect(ids.has(0, 'a', 1000 + 10 * MIN)).toBe(true);
    expect(ids.has(0, 'a', 1001 + 10 * MIN)).toBe(false); // past the window
    expect(ids.has(1, 'a', 1000)).toBe(false); // another partition
    expect(ids.has(0, 'b', 1000)).toBe(false);
  });

  it('keeps at most maxPerPartition ids, dropping the oldest first', () => {
    const ids = new RecentIds({ windowMs: 10 * MIN, maxPerPartition: 3 });
    ids.add(
      0,
      ['a', 'b', 'c', 'd'].map((id, i) => ({ id, at: i })),
    );
    expect(ids.size(0)).toBe(3);
    expect(['a', 'b', 'c', 'd'].map((id) => ids.has(0, id, 10))).toEqual([false, true, true, true]);
    // Seen again: it becomes the newest, so it outlives an older one.
    ids.add(0, [{ id: 'b', at: 20 }]);
    ids.add(0, [{ id: 'e', at: 21 }]);
    expect(['b', 'c', 'd', 'e'].map((id) => ids.has(0, id, 30))).toEqual([true, false, true, true]);
  });

  it('evicts ids older than the window as newer ones arrive', () => {
    const ids = new RecentIds({ windowMs: MIN, maxPerPartition: 100 });
    ids.add(0, [{ id: 'old', at: 0 }]);
    ids.add(0, [{ id: 'new', at: 2 * MIN }]);
    expect(ids.size(0)).toBe(1);
  });

  it('restores a partition from ids read back, keeping only those within the window', () => {
    const ids = new RecentIds({ windowMs: MIN, maxPerPartition: 100 });
    ids.add(0, [{ id: 'stale', at: 0 }]);
    ids.restore(
      0,
      [
        { id: 'too-old', at: 0 },
        { id: 'recent', at: 5 * MIN },
      ],
      5 * MIN + 1,
    );
    expect(ids.has(0, 'recent', 5 * MIN + 1)).toBe(true);
    expect(ids.has(0, 'too-old', 30_000)).toBe(false);
    expect(ids.has(0, 'stale', 30_000)).toBe(false); // replaced, not merged
  });

  it('is off with maxPerPartition 0', () => {
    const ids = new RecentIds({ windowMs: MIN, maxPerPartition: 0 });
    ids.add(0, [{ id: 'a', at: 0 }]);
    expect(ids.enabled).toBe(false);
    expect(ids.has(0, 'a', 0)).toBe(false);
  });
});
