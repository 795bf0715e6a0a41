/**
 * The read window (ingest/read-window.ts): bodies are let in while the sink's queued bytes
 * plus the bodies being read fit; past that they wait in arrival order, are let in as the
 * queue drains, and are refused with a retriable OVERLOADED after the wait limit.
 */
import { IntakeError } from '../../../lib/errors';
import { ReadWindow } from '../../../services/edge/ingest/read-window';

function windowOf(limitBytes: number, maxWaitMs = 1000) {
  const state = { queued: 0, now: 0 };
  const window = new ReadWindow({
    limitBytes,
    maxWaitMs,
    queuedBytes: () => state.queued,
    now: () => state.now,
    sweepMs: 100,
  });
  const order: string[] = [];
  const refused: IntakeError[] = [];
  const enter = (name: string, bytes: number) =>
    window.enter(
      bytes,
      () => order.push(name),
      (err) => {
        order.push(`refused ${name}`);
        refused.push(err);
      },
    );
  return { window, state, order, refused, enter };
}

afterEach(() => {
  jest.useRealTimers();
});

describe('ReadWindow', () => {
  it('lets bodies in at once while they fit, and holds the one that does not', () => {
    const w = windowOf(100);
    expect(w.enter('a', 40)).toBeNull();
    expect(w.enter('b', 60)).toBeNull();
    expect(w.enter('c', 1)).not.toBeNull();
    expect(w.order).toEqual(['a', 'b']);
    expect(w.window.readingBytes).toBe(100);
    expect(w.window.waiting).toBe(1);
    w.window.close();
  });

  it('counts the sink’s queued bytes with the bodies being read', () => {
    const w = windowOf(100);
    w.state.queued = 80;
    expect(w.enter('a', 20)).toBeNull();
    expect(w.enter('b', 1)).not.toBeNull();
    expect(w.order).toEqual(['a']);
    w.window.close();
  });

  it('always lets the first body in when nothing is queued or read, however large', () => {
    const w = windowOf(100);
    expect(w.enter('big', 10_000)).toBeNull();
    expect(w.enter('next', 1)).not.toBeNull();
    w.window.done(10_000);
    expect(w.order).toEqual(['big', 'next']);
  });

  it('lets waiters in, in arrival order, as the queue drains and bodies are done', () => {
    const w = windowOf(100);
    w.state.queued = 100;
    w.enter('a', 50);
    w.enter('b', 50);
    w.enter('c', 50);
    // A newcomer that would fit waits behind the earlier ones.
    w.enter('d', 1);
    expect(w.order).toEqual([]);
    w.state.queued = 0; // a Kafka request took the queue
    w.window.pump();
    expect(w.order).toEqual(['a', 'b']);
    w.window.done(50);
    expect(w.order).toEqual(['a', 'b', 'c']);
    w.window.done(50);
    w.window.done(50);
    expect(w.order).toEqual(['a', 'b', 'c', 'd']);
    expect(w.window.waiting).toBe(0);
  });

  it('skips a waiter whose client left', () => {
    const w = windowOf(100);
    w.state.queued = 100;
    const gone = w.enter('gone', 10);
    w.enter('stays', 10);
    gone!.cancel();
    w.state.queued = 0;
    w.window.pump();
    expect(w.order).toEqual(['stays']);
    expect(w.window.readingBytes).toBe(10);
  });

  it('refuses a request that waited longer than the limit with a retriable OVERLOADED', () => {
    jest.useFakeTimers();
    const w = windowOf(100, 1000);
    w.state.queued = 100;
    w.enter('old', 10);
    w.state.now = 600;
    w.enter('young', 10);
    w.state.now = 1000;
    jest.advanceTimersByTime(100);
    expect(w.order).toEqual(['refused old']);
    expect(w.refused[0]).toBeInstanceOf(IntakeError);
    expect(w.refused[0]!.code).toBe('OVERLOADED');
    expect(w.refused[0]!.retriable).toBe(true);
    expect(w.refused[0]!.retryAfterSeconds).toBe(1);
    expect(w.window.waiting).toBe(1);
    w.state.queued = 0;
    w.window.pump();
    expect(w.order).toEqual(['refused old', 'young']);
  });

  it('stops its timer once nobody waits', () => {
    jest.useFakeTimers();
    const w = windowOf(100);
    w.state.queued = 100;
    w.enter('a', 10);
    expect(jest.getTimerCount()).toBe(1);
    w.state.queued = 0;
    w.window.pump();
    expect(jest.getTimerCount()).toBe(0);
  });
});
