import { IntakeError } from '../../../lib/errors';
import type { Reply } from '../../../lib/records/reply';
import { ReplyWaiter } from '../../../services/edge/replies/reply-waiter';
import { FakeKafka, silentLogger } from '../../support/fakes';
import type { FakeConsumer } from '../../support/fakes';

/** Requests waiting, as `maxWaiting` counts them (private state: no production code needs it). */
const slots = (waiter: ReplyWaiter): number => (waiter as unknown as { count: number }).count;

const LONG = 60_000; // a timeout no test reaches: each test settles or stops its waiters

function reply(id: string, over: Partial<Reply> = {}): Reply {
  return { id, replyTo: 'edge-1', outcome: 'processed', at: '2026-01-01T00:00:00Z', ...over };
}

/** A started waiter for edge `edge-1`, and the consumer that feeds it. */
async function started(
  maxWaiting = 10,
): Promise<{ waiter: ReplyWaiter; fake: FakeKafka; consumer: FakeConsumer }> {
  const fake = new FakeKafka();
  const waiter = new ReplyWaiter({
    kafka: fake.kafka,
    topic: 'replies',
    instance: 'edge-1',
    maxWaiting,
    logger: silentLogger(),
  });
  await waiter.start();
  const consumer = fake.consumers[0];
  if (!consumer) throw new Error('no consumer started');
  return { waiter, fake, consumer };
}

/** Tracks whether a promise settled yet. */
function track<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let done = false;
  const tracked = promise.finally(() => (done = true));
  return { settled: () => done, promise: tracked };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let toStop: ReplyWaiter[] = [];
afterEach(async () => {
  await Promise.all(toStop.map((w) => w.stop()));
  toStop = [];
});

async function edge(maxWaiting?: number): ReturnType<typeof started> {
  const s = await started(maxWaiting);
  toStop.push(s.waiter);
  return s;
}

describe('ReplyWaiter', () => {
  it('follows the replies topic from now in a group of its own, without committing', async () => {
    const { waiter, consumer } = await edge();
    expect(consumer.groupId).toMatch(/^intake-replies-/);
    expect(consumer.subscriptions).toEqual([{ topic: 'replies', fromBeginning: false }]);
    expect(consumer.runConfig?.autoCommit ?? false).toBe(false);
    expect(waiter.isRunning).toBe(false);
    consumer.join();
    expect(waiter.isRunning).toBe(true);
  });

  it('resolves the waiter of the reply addressed to this edge, and only it', async () => {
    const { waiter, consumer } = await edge();
    const first = track(waiter.expect('id-1', LONG));
    const second = track(waiter.expect('id-2', LONG));
    expect(slots(waiter)).toBe(2);

    const answer = reply('id-1', { result: { ok: 1 } });
    await consumer.message(0, 0, { key: 'edge-1', value: JSON.stringify(answer) });

    expect(await first.promise).toEqual(answer);
    await flush();
    expect(second.settled()).toBe(false);
    expect(slots(waiter)).toBe(1);
  });

  it('resolves every waiter of the same event id', async () => {
    const { waiter, consumer } = await edge();
    const a = waiter.expect('dup', LONG);
    const b = waiter.expect('dup', LONG);
    await consumer.message(0, 0, { key: 'edge-1', value: JSON.stringify(reply('dup')) });
    expect(await Promise.all([a, b])).toEqual([reply('dup'), reply('dup')]);
    expect(slots(waiter)).toBe(0);
  });

  it("ignores other edges' replies, empty and unparseable records", async () => {
    const { waiter, consumer } = await edge();
    const pending = track(waiter.expect('id-1', LONG));
    const ignored = [
      { key: 'edge-2', value: JSON.stringify(reply('id-1', { replyTo: 'edge-2' })) },
      { key: null, value: JSON.stringify(reply('id-1')) },
      { key: 'edge-1', value: null },
      { key: 'edge-1', value: '{not json' },
      { key: 'edge-1', value: JSON.stringify({ id: 'id-1', replyTo: 'edge-1' }) }, // no outcome
    ];
    for (const [i, record] of ignored.entries()) await consumer.message(0, i, record);
    await flush();
    expect(pending.settled()).toBe(false);
    expect(slots(waiter)).toBe(1);

    await consumer.message(0, 9, { key: 'edge-1', value: JSON.stringify(reply('id-1')) });
    expect(await pending.promise).toEqual(reply('id-1'));
  });

  it('ignores a reply nobody waits for (any more)', async () => {
    const { waiter, consumer } = await edge();
    const answered = waiter.expect('id-1', LONG);
    await consumer.message(0, 0, { key: 'edge-1', value: JSON.stringify(reply('id-1')) });
    await answered;
    await consumer.message(0, 1, { key: 'edge-1', value: JSON.stringify(reply('id-1')) });
    await consumer.message(0, 2, { key: 'edge-1', value: JSON.stringify(reply('never')) });
    expect(slots(waiter)).toBe(0);
  });

  it('resolves null after the timeout and frees the slot; a late reply is ignored', async () => {
    const { waiter, consumer } = await edge();
    const slow = waiter.expect('slow', 5);
    const other = track(waiter.expect('other', LONG));
    expect(await slow).toBeNull();
    expect(slots(waiter)).toBe(1);
    expect(other.settled()).toBe(false);

    await consumer.message(0, 0, { key: 'edge-1', value: JSON.stringify(reply('slow')) });
    expect(slots(waiter)).toBe(1);
  });

  it('times out one waiter of an id without touching the other', async () => {
    const { waiter, consumer } = await edge();
    const short = waiter.expect('dup', 5);
    const long = waiter.expect('dup', LONG);
    expect(await short).toBeNull();
    expect(slots(waiter)).toBe(1);
    await consumer.message(0, 0, { key: 'edge-1', value: JSON.stringify(reply('dup')) });
    expect(await long).toEqual(reply('dup'));
  });

  it('refuses with OVERLOADED at once when maxWaiting requests wait, and accepts again after one settled', async () => {
    const { waiter } = await edge(2);
    const first = waiter.expect('a', LONG);
    void waiter.expect('b', LONG);

    let thrown: unknown;
    try {
      void waiter.expect('c', LONG);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(IntakeError);
    expect(thrown).toMatchObject({ code: 'OVERLOADED', retriable: true, retryAfterSeconds: 1 });
    expect(slots(waiter)).toBe(2);

    waiter.cancel('a');
    expect(await first).toBeNull();
    expect(() => void waiter.expect('c', LONG)).not.toThrow();
    expect(slots(waiter)).toBe(2);
  });

  it('cancel(id) resolves that id with null and leaves the others waiting', async () => {
    const { waiter } = await edge();
    const a = waiter.expect('a', LONG);
    const b = track(waiter.expect('b', LONG));
    waiter.cancel('a');
    waiter.cancel('unknown');
    expect(await a).toBeNull();
    await flush();
    expect(b.settled()).toBe(false);
    expect(slots(waiter)).toBe(1);
  });

  it('stop() ends every wait with null, disconnects and deletes its group', async () => {
    const { waiter, fake, consumer } = await started();
    const waits = [waiter.expect('a', LONG), waiter.expect('b', LONG), waiter.expect('b', LONG)];
    await waiter.stop();

    expect(await Promise.all(waits)).toEqual([null, null, null]);
    expect(slots(waiter)).toBe(0);
    expect(consumer.disconnected).toBe(true);
    expect(fake.admins).toHaveLength(1);
    expect(fake.admins[0]?.deletedGroups).toEqual([consumer.groupId]);
    expect(fake.admins[0]?.disconnected).toBe(true);
  });

  it('stop() still disconnects when deleting its group fails', async () => {
    const { waiter, fake } = await started();
    fake.deleteGroupsError = new Error('group not empty');
    await waiter.stop();
    expect(fake.admins[0]?.deletedGroups).toHaveLength(1);
    expect(fake.admins[0]?.disconnected).toBe(true);
  });
});
