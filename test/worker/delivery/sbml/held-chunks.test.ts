/**
 * SBML's claim after an abandoned chunk: a commit the group refused (it moved on) leaves
 * the chunk's records logged and sent; when the partition stays this worker's and no other
 * worker processed it since (the group's committed offset is still this worker's own last
 * commit, where the chunk began), the partition starts after the chunk instead of reading
 * it again (each re-read record is one more duplicate downstream); a worker that keeps no
 * state derived from its input skips it with no check. Anything else re-reads.
 */
import { IntakeError } from '../../../../lib/errors';
import type { Chunk, HandOffContext } from '../../../../services/worker/delivery/delivery';
import { SbmlDelivery } from '../../../../services/worker/delivery/sbml/sbml-delivery';
import type { OutboundSender } from '../../../../services/worker/delivery/sbml/sender';
import { DeliveryProgress } from '../../../../services/worker/outbound/progress';
import { MemoryOutboundLog, outboundRecord, silentLogger } from '../../../support/fakes';

/** A context whose commits are refused while `refusing` says so. */
function context(state: { refusing: boolean }): HandOffContext {
  return {
    retrying: async (work) => {
      await work();
      return true;
    },
    commitInput: () =>
      state.refusing
        ? Promise.reject(new IntakeError('KAFKA_NOT_MEMBER', 'ILLEGAL_GENERATION'))
        : Promise.resolve(),
  };
}

/** A delivery whose group's committed offsets are `committed` (a failure when it throws). */
function delivery(committed: () => Map<number, bigint>, keepsState = true) {
  const sender = { dispatch: () => undefined } as unknown as OutboundSender;
  const progress = new DeliveryProgress();
  const reads: number[][] = [];
  const d = new SbmlDelivery({
    sender,
    log: new MemoryOutboundLog(),
    progress,
    logger: silentLogger(),
    keepsState,
    handover: {
      settled: () => Promise.resolve(new Map()),
      committed: (partitions) => {
        reads.push([...partitions]);
        return Promise.resolve().then(committed);
      },
    },
  });
  return { d, progress, reads };
}

const chunk = (first: number, last: number): Chunk => ({
  topic: 'raw',
  partition: 0,
  first: String(first),
  last: String(last),
  records: [outboundRecord(first), outboundRecord(last)],
});

describe('SbmlDelivery.claim after an abandoned chunk', () => {
  it('starts a kept partition after the chunk when no other worker processed it since', async () => {
    const { d, progress } = delivery(() => new Map([[0, 10n]]));
    progress.committed(0, [], 9n); // this worker's own last commit: up to 10
    await expect(d.handOff(chunk(10, 11), context({ refusing: true }))).resolves.toBe(false);
    d.assigned([0, 1]);
    await expect(d.claim(0)).resolves.toBe(12n);
    await expect(d.claim(1)).resolves.toBe(0n);
  });

  it('starts after the last of contiguous abandoned chunks, and forgets them once a later chunk is committed', async () => {
    const { d, progress } = delivery(() => new Map([[0, 10n]]));
    progress.committed(0, [], 9n);
    const refusing = { refusing: true };
    await d.handOff(chunk(10, 11), context(refusing));
    d.assigned([0]);
    await expect(d.claim(0)).resolves.toBe(12n);
    await d.handOff(chunk(12, 15), context(refusing));
    d.assigned([0]);
    await expect(d.claim(0)).resolves.toBe(16n);
    refusing.refusing = false;
    await expect(d.handOff(chunk(16, 17), context(refusing))).resolves.toBe(true);
    d.assigned([0]);
    await expect(d.claim(0)).resolves.toBe(0n);
  });

  it('re-reads when the committed offset moved: another worker processed the partition', async () => {
    const { d, progress } = delivery(() => new Map([[0, 14n]]));
    progress.committed(0, [], 9n);
    await d.handOff(chunk(10, 11), context({ refusing: true }));
    d.assigned([0]);
    await expect(d.claim(0)).resolves.toBe(0n);
  });

  it('re-reads a partition revoked since, even when it comes back', async () => {
    const { d, progress, reads } = delivery(() => new Map([[0, 10n]]));
    progress.committed(0, [], 9n);
    await d.handOff(chunk(10, 11), context({ refusing: true }));
    d.assigned([1]);
    d.assigned([0]);
    await expect(d.claim(0)).resolves.toBe(0n);
    expect(reads).toEqual([]);
  });

  it('does not hold a chunk that did not begin at its own last commit (the state here may not be the group’s)', async () => {
    const { d, progress, reads } = delivery(() => new Map([[0, 10n]]));
    progress.committed(0, [], 4n); // its last commit: up to 5, then the partition was away
    await d.handOff(chunk(10, 11), context({ refusing: true }));
    d.assigned([0]);
    await expect(d.claim(0)).resolves.toBe(0n);
    expect(reads).toEqual([]);
  });

  it('holds the first chunk of a partition it never committed yet (it began where the worker started it)', async () => {
    const { d } = delivery(() => new Map([[0, 10n]]));
    await d.handOff(chunk(10, 11), context({ refusing: true })); // nothing committed here before
    d.assigned([0]);
    await expect(d.claim(0)).resolves.toBe(12n);
  });

  it('re-reads when the committed offset cannot be read, and reads it again at the next claim', async () => {
    let failing = true;
    const { d, progress, reads } = delivery(() => {
      if (failing) throw new IntakeError('KAFKA_UNAVAILABLE', 'coordinator not available');
      return new Map([[0, 10n]]);
    });
    progress.committed(0, [], 9n);
    await d.handOff(chunk(10, 11), context({ refusing: true }));
    d.assigned([0]);
    await expect(d.claim(0)).resolves.toBe(0n);
    failing = false;
    await expect(d.claim(0)).resolves.toBe(12n);
    expect(reads).toEqual([[0], [0]]);
  });

  it('skips with no check in a worker that keeps no state derived from its input', async () => {
    const { d, progress, reads } = delivery(() => new Map([[0, 14n]]), false);
    progress.committed(0, [], 9n);
    await d.handOff(chunk(10, 11), context({ refusing: true }));
    d.assigned([0]);
    await expect(d.claim(0)).resolves.toBe(12n);
    expect(reads).toEqual([]);
  });

  it("keeps the partition's delivered-up-to below a held chunk until its records are acknowledged", async () => {
    const { d, progress } = delivery(() => new Map([[0, 10n]]));
    progress.committed(0, [], 9n);
    const refusing = { refusing: true };
    const held = chunk(10, 11);
    await d.handOff(held, context(refusing));
    refusing.refusing = false;
    const next = chunk(12, 13);
    await d.handOff(next, context(refusing));
    expect(progress.snapshot(0)).toMatchObject({ deliveredUpTo: '10', committedNext: '14' });
    progress.acknowledged(held.records);
    expect(progress.snapshot(0)?.deliveredUpTo).toBe('12');
    progress.acknowledged(next.records);
    expect(progress.snapshot(0)?.deliveredUpTo).toBe('14');
  });
});
