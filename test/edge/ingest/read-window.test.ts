/**
 * The read window (ingest/read-window.ts): bodies are let in while the sink's queued bytes
 * plus the bodies being read fit; past that they wait in arrival order, are let in as the
 * queue drains or bodies leave, and are refused with a retriable OVERLOADED after the wait
 * limit; a body read for longer than that stops counting.
 */
import { IntakeError } from '../../../lib/errors';
import { ReadWindow } from '../../../services/edge/ingest/read-window';
import type { Ticket } from '../../../services/edge/ingest/read-window';

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
  const tickets = new Map<string, Ticket>();
  const enter = (name: string, bytes: number): Ticket => {
    const ticket = window.enter(
      bytes,
      () => order.push(name),
      (err) => {
        order.push(`refused ${name}`);
        refused.push(err);
      },
    );
    tickets.set(name, ticket);
    return ticket;
  };
  const leave = (name: string): void => tickets.get(name)!.leave();
  return { window, state, order, refused, enter, leave };
}

afterEach(() => {
  jest.useRealTimers();
});

describe('ReadWindow', () => {
  it('lets bodies in at once while they fit, and holds the one that does not', () => {
    const w = windowOf(100);
    w.enter('a', 40);
    w.enter('b', 60);
    w.enter('c', 1);
    expect(w.order).toEqual(['a', 'b']);
    expect(w.window.readingBytes).toBe(100);
    expect(w.window.waiting).toBe(1);
    w.window.close();
  });

  it('counts the sink’s queued bytes with the bodies being read', () => {
    const w = windowOf(100);
    w.state.queued = 80;
    w.enter('a', 20);
    w.enter('b', 1);
    expect(w.order).toEqual(['a']);
    w.window.close();
  });

  it('always lets the first body in when nothing is queued or read, however large', () => {
    const w = windowOf(100);
    w.enter('big', 10_000);
    w.enter('next', 1);
    expect(w.order).toEqual(['big']);
    w.leave('big');
    expect(w.order).toEqual(['big', 'next']);
    w.leave('next');
  });

  it('lets waiters in, in arrival order, as the queue drains and bodies leave', () => {
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
    w.leave('a');
    expect(w.order).toEqual(['a', 'b', 'c']);
    w.leave('b');
    w.leave('c');
    expect(w.order).toEqual(['a', 'b', 'c', 'd']);
    w.leave('d');
    expect(w.window.waiting).toBe(0);
    expect(w.window.readingBytes).toBe(0);
  });

  it('counts a body once, however often it leaves', () => {
    const w = windowOf(100);
    w.enter('a', 60);
    w.enter('b', 30);
    w.leave('a');
    w.leave('a'); // the body was handed on, then the client's connection closed
    expect(w.window.readingBytes).toBe(30);
    w.leave('b');
  });

  it('skips a waiter whose client left', () => {
    const w = windowOf(100);
    w.state.queued = 100;
    w.enter('gone', 10);
    w.enter('stays', 10);
    w.leave('gone');
    w.state.queued = 0;
    w.window.pump();
    expect(w.order).toEqual(['stays']);
    expect(w.window.readingBytes).toBe(10);
    w.leave('stays');
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
    w.leave('young');
  });

  it('stops counting a body still being read after the limit, so a stalled client holds no one up', () => {
    jest.useFakeTimers();
    const w = windowOf(100, 1000);
    w.enter('stalled', 90); // its client declared 90 bytes and sends nothing
    w.enter('next', 50);
    expect(w.order).toEqual(['stalled']);
    w.state.now = 1000;
    jest.advanceTimersByTime(100);
    expect(w.order).toEqual(['stalled', 'next']);
    expect(w.window.readingBytes).toBe(50);
    w.leave('stalled'); // its body ends or its client leaves at last: counted once only
    expect(w.window.readingBytes).toBe(50);
    w.leave('next');
  });

  it('stops its timer once nobody waits or reads', () => {
    jest.useFakeTimers();
    const w = windowOf(100);
    w.state.queued = 100;
    w.enter('a', 10);
    expect(jest.getTimerCount()).toBe(1);
    w.state.queued = 0;
    w.window.pump();
    expect(jest.getTimerCount()).toBe(1); // 'a' is being read
    w.leave('a');
    expect(jest.getTimerCount()).toBe(0);
  });
});
