import type { ScoreStep } from '../../../services/worker/pipeline/steps/score-step';
import { StateRestorer } from '../../../services/worker/state/state-restorer';
import { FakeKafka, silentLogger } from '../../support/fakes';

/** Records what the restorer loads into, and drops from, the scorer. */
class FakeScorer {
  readonly restored: { partition: number; keys: string[] }[] = [];
  readonly forgotten: number[] = [];

  restore(partition: number, records: Iterable<{ key: string; value: unknown }>): number {
    const keys = [...records].map((r) => r.key);
    this.restored.push({ partition, keys });
    return keys.length;
  }

  forget(partition: number): void {
    this.forgotten.push(partition);
  }

  get asScoreStep(): ScoreStep {
    return this as unknown as ScoreStep;
  }
}

/** A hand-over that settles each call's partitions only when the test releases it. */
class FakeHandover {
  readonly calls: number[][] = [];
  /** The group's committed offsets the next calls report. */
  offsets = new Map<number, bigint>();
  private readonly releases: (() => void)[] = [];

  settled(partitions: readonly number[]): Promise<ReadonlyMap<number, bigint>> {
    this.calls.push([...partitions]);
    return new Promise((resolve) => this.releases.push(() => resolve(new Map(this.offsets))));
  }

  readonly committedCalls: number[][] = [];

  committed(partitions: readonly number[]): Promise<ReadonlyMap<number, bigint>> {
    this.committedCalls.push([...partitions]);
    return Promise.resolve(new Map(this.offsets));
  }

  releaseAll(): void {
    for (const release of this.releases.splice(0)) release();
  }
}

/** Lets every pending promise callback and queued immediate run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function scoresTopic(): FakeKafka {
  const fake = new FakeKafka();
  const score = (key: string): { key: string; value: string } => ({
    key,
    value: JSON.stringify({ visitorId: key, score: 1 }),
  });
  fake.data.set(0, [score('a'), score('b')]);
  fake.data.set(1, [score('c')]);
  fake.data.set(2, [score('d')]);
  fake.data.set(3, []);
  return fake;
}

function restorer(
  fake: FakeKafka,
  opts: {
    scorer?: FakeScorer | null;
    handover?: FakeHandover;
    committedHere?: (p: number) => bigint | undefined;
  } = {},
): StateRestorer {
  const scorer = opts.scorer === undefined ? new FakeScorer() : opts.scorer;
  return new StateRestorer({
    kafka: fake.kafka,
    topic: 'scores',
    scorer: scorer?.asScoreStep ?? null,
    handover: opts.handover,
    committedHere: opts.committedHere,
    logger: silentLogger(),
  });
}

describe('StateRestorer', () => {
  it('does nothing without a scorer: ready at once, nothing read', async () => {
    const fake = scoresTopic();
    const r = restorer(fake, { scorer: null });
    r.assigned([0, 1]);
    await r.ready(0);
    await r.ready(5);
    expect(fake.admins).toHaveLength(0);
    expect(fake.consumers).toHaveLength(0);
  });

  it('loads each assigned partition with its own score records', async () => {
    const fake = scoresTopic();
    const scorer = new FakeScorer();
    const r = restorer(fake, { scorer });
    r.assigned([0, 1, 3]);
    await Promise.all([r.ready(0), r.ready(1), r.ready(3)]);

    expect(scorer.restored).toEqual([
      { partition: 0, keys: ['a', 'b'] },
      { partition: 1, keys: ['c'] },
      { partition: 3, keys: [] },
    ]);
    expect(fake.consumers).toHaveLength(1); // one read for the whole assignment
  });

  it('waits for the hand-over before reading, and ready(p) waits for the restore', async () => {
    const fake = scoresTopic();
    const scorer = new FakeScorer();
    const handover = new FakeHandover();
    const r = restorer(fake, { scorer, handover });
    r.assigned([0, 1]);
    let ready = false;
    const waiting = r.ready(0).then(() => (ready = true));
    await settle();

    expect(handover.calls).toEqual([[0, 1]]);
    expect(fake.admins).toHaveLength(0); // nothing read while the previous owner delivers
    expect(scorer.restored).toEqual([]);
    expect(ready).toBe(false);

    handover.releaseAll();
    await waiting;
    expect(ready).toBe(true);
    expect(scorer.restored.map((x) => x.partition)).toEqual([0, 1]);
  });

  it('a new generation keeping a partition whose restore still runs: ready(p) waits for that restore', async () => {
    const fake = scoresTopic();
    const scorer = new FakeScorer();
    const handover = new FakeHandover();
    const r = restorer(fake, { scorer, handover });
    r.assigned([0, 1]);
    await settle();
    // The group rebalanced again, the same partitions kept, before the hand-over settled.
    r.assigned([0, 1]);
    let ready = false;
    const waiting = r.ready(0).then(() => (ready = true));
    await settle();
    await settle();
    expect(ready).toBe(false);
    expect(scorer.restored).toEqual([]);

    handover.releaseAll();
    await waiting;
    expect(scorer.restored.map((x) => x.partition)).toEqual([0, 1]);
  });

  it('restores only the partitions that are new in an assignment', async () => {
    const fake = scoresTopic();
    const scorer = new FakeScorer();
    const handover = new FakeHandover();
    const r = restorer(fake, { scorer, handover });
    r.assigned([0, 1]);
    handover.releaseAll();
    await r.ready(0);

    r.assigned([0, 1, 2]);
    handover.releaseAll();
    await r.ready(2);
    await r.ready(0);

    // The kept partitions are checked (their committed offsets, no wait), not read again.
    expect(handover.calls).toEqual([[0, 1], [2]]);
    expect(handover.committedCalls).toEqual([[0, 1]]);
    expect(scorer.restored.map((x) => x.partition)).toEqual([0, 1, 2]);
    expect(scorer.forgotten).toEqual([]);
    expect(fake.consumers).toHaveLength(2);
  });

  it('restores a kept partition again when another worker committed it meanwhile', async () => {
    const fake = scoresTopic();
    const scorer = new FakeScorer();
    const handover = new FakeHandover();
    const here = new Map<number, bigint>([
      [0, 10n],
      [1, 20n],
    ]);
    const r = restorer(fake, { scorer, handover, committedHere: (p) => here.get(p) });
    handover.offsets = new Map(here);
    r.assigned([0, 1]);
    handover.releaseAll();
    await r.ready(0);
    await r.ready(1);

    // Partition 1 was processed elsewhere while this worker thought it still had it.
    handover.offsets = new Map([
      [0, 10n],
      [1, 35n],
    ]);
    r.assigned([0, 1]);
    await settle(); // the kept partitions' offsets are read, then the moved one's hand-over waits
    expect(handover.calls).toEqual([[0, 1], [1]]);
    handover.releaseAll();
    await r.ready(0);
    await r.ready(1);
    expect(scorer.restored.map((x) => x.partition)).toEqual([0, 1, 1]);
  });

  it('does nothing when an assignment brings no new partition', async () => {
    const fake = scoresTopic();
    const scorer = new FakeScorer();
    const r = restorer(fake, { scorer });
    r.assigned([0, 1]);
    await r.ready(1);
    r.assigned([1, 0]);
    await r.ready(0);
    expect(fake.admins).toHaveLength(1);
    expect(scorer.restored).toHaveLength(2);
  });

  it('forgets revoked partitions, and restores them afresh when they come back', async () => {
    const fake = scoresTopic();
    const scorer = new FakeScorer();
    const r = restorer(fake, { scorer });
    r.assigned([0, 1, 2]);
    await r.ready(0);

    r.assigned([1]);
    expect(scorer.forgotten).toEqual([0, 2]);
    expect(fake.admins).toHaveLength(1); // a revocation reads nothing

    r.assigned([]);
    expect(scorer.forgotten).toEqual([0, 2, 1]);

    r.assigned([0]);
    await r.ready(0);
    expect(scorer.restored.map((x) => x.partition)).toEqual([0, 1, 2, 0]);
  });

  it('ready(p) of a partition it was not told about restores it and keeps the others', async () => {
    const fake = scoresTopic();
    const scorer = new FakeScorer();
    const r = restorer(fake, { scorer });
    r.assigned([0]);
    await r.ready(0);

    await r.ready(2);
    expect(scorer.restored.map((x) => x.partition)).toEqual([0, 2]);
    expect(scorer.forgotten).toEqual([]);
  });

  it('fails ready(p) when the restore fails, and retries it on the next ready(p)', async () => {
    const fake = scoresTopic();
    const scorer = new FakeScorer();
    const r = restorer(fake, { scorer });
    fake.fetchOffsetsFailures.push(new Error('topic not found'));
    r.assigned([0, 1]);

    const [ready0, ready1] = [r.ready(0), r.ready(1)];
    await expect(ready0).rejects.toThrow('topic not found');
    await expect(ready1).rejects.toThrow('topic not found');
    expect(scorer.restored).toEqual([]);

    await r.ready(0);
    await r.ready(1);
    expect(scorer.restored).toEqual([
      { partition: 0, keys: ['a', 'b'] },
      { partition: 1, keys: ['c'] },
    ]);
    expect(fake.offsetFetches).toHaveLength(3); // the failed read, then one per retry
  });

  it('leaves no unhandled rejection when a restore fails for a partition nobody asks about (revoked before its first batch)', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const fake = scoresTopic();
      const r = restorer(fake);
      fake.fetchOffsetsFailures.push(new Error('not the correct coordinator'));
      r.assigned([0, 1]);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
      await r.ready(0); // retried on the next access
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
