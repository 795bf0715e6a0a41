/**
 * How far the edge reads ahead of Kafka. A request body is read (and then parsed) only
 * while two amounts fit in `limitBytes`: the bytes the sink holds queued for its next
 * Kafka request, and the bodies being read now. Past that, requests wait in arrival order
 * with their bodies unread (TCP holds them back in the client's socket); each Kafka
 * request that takes the sink's queue, and each body read to its end, lets the next in.
 *
 * Why: with many requests in flight, parsing every body at once keeps all their records
 * alive across the Kafka round trip, so they outlive young-generation collections and get
 * promoted; the collector then takes a large share of the core (docs/performance.md,
 * "read window"). Reading no further ahead than Kafka can take keeps records short-lived.
 *
 * Guarantees:
 * - when nothing is queued or being read, the first waiting request is always let in, so a
 *   body larger than the window is still read, one at a time;
 * - a request waiting longer than `maxWaitMs` is refused with a retriable `OVERLOADED`
 *   (503 with Retry-After from the sink's measured drain), so a stalled Kafka never holds
 *   requests without bound;
 * - a body being read for longer than `maxWaitMs` stops counting, so a client that sends
 *   its declared body slowly, or never, does not hold the window for everyone;
 * - a waiter whose client left (`leave()`) is forgotten without being let in;
 * - order: requests are let in first come, first served.
 */
import { IntakeError } from '../../../lib/errors';

export interface ReadWindowOptions {
  /** Bytes queued for Kafka plus bodies being read, beyond which requests wait. */
  limitBytes: number;
  /** A request waiting longer than this is refused with `OVERLOADED`. */
  maxWaitMs: number;
  /** Bytes the sink holds queued and not yet in a Kafka request. */
  queuedBytes: () => number;
  /** Clock of the wait limit (tests pass their own). */
  now?: () => number;
  /** How often waiters are checked against `maxWaitMs` (default 500 ms). */
  sweepMs?: number;
  /** The refusal's Retry-After: the sink's measured drain (default 1 s). */
  retryAfterSeconds?: () => number;
}

/** One request's place in the window, waiting or being read. */
export interface Ticket {
  /**
   * The request leaves the window: a waiter is forgotten (never let in nor refused), a
   * body being read stops counting. Call it once the body was read and handed on, failed,
   * or the client left; later calls do nothing.
   */
  leave(this: void): void;
}

interface Entry extends Ticket {
  bytes: number;
  /** When it started waiting, then when it was let in. */
  since: number;
  state: 'waiting' | 'reading' | 'left';
  go: (ticket: Ticket) => void;
  refuse: (err: IntakeError) => void;
}

export class ReadWindow {
  private reading = 0;
  private readonly queue: Entry[] = [];
  private readonly readers = new Set<Entry>();
  private sweeper: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly options: ReadWindowOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Lets a body of `bytes` be read: `go` runs now when it fits and nobody waits, else later
   * in arrival order; `refuse` runs instead when it waited longer than `maxWaitMs`. The
   * caller calls `leave()` on the ticket (also given to `go`) when done with the request.
   */
  enter(bytes: number, go: (ticket: Ticket) => void, refuse: (err: IntakeError) => void): Ticket {
    const entry: Entry = {
      bytes,
      since: this.now(),
      state: 'waiting',
      go,
      refuse,
      leave: () => this.leave(entry),
    };
    if (this.queue.length === 0 && this.fits(bytes)) this.letIn(entry);
    else this.queue.push(entry);
    this.sweeper ??= setInterval(() => this.sweep(), this.options.sweepMs ?? 500).unref();
    return entry;
  }

  /** Lets in the waiters that fit now (call it when the sink's queue shrank). */
  pump(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.state === 'left') {
        this.queue.shift();
        continue;
      }
      if (!this.fits(head.bytes)) break;
      this.queue.shift();
      this.letIn(head);
    }
    this.stopSweeperWhenIdle();
  }

  /** Requests waiting to be read (those that left included until they reach the head). */
  get waiting(): number {
    return this.queue.length;
  }

  /** Bytes of the bodies being read. */
  get readingBytes(): number {
    return this.reading;
  }

  /** Stops the wait-limit timer (at shutdown; waiters still get let in by `pump`). */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }

  private letIn(entry: Entry): void {
    entry.state = 'reading';
    entry.since = this.now();
    this.reading += entry.bytes;
    this.readers.add(entry);
    entry.go(entry);
  }

  private leave(entry: Entry): void {
    if (entry.state !== 'reading') {
      entry.state = 'left';
      return;
    }
    this.stopCounting(entry);
    this.pump();
  }

  /** A body let in no longer counts (it left, or has been read for too long). */
  private stopCounting(entry: Entry): void {
    entry.state = 'left';
    this.readers.delete(entry);
    this.reading -= entry.bytes;
  }

  private fits(bytes: number): boolean {
    const held = this.reading + this.options.queuedBytes();
    return held === 0 || held + bytes <= this.options.limitBytes;
  }

  /**
   * Refuses waiters older than `maxWaitMs`, and stops counting bodies that have been read
   * for longer (a client that declares a body and sends it slowly, or not at all, must not
   * hold the window for everyone; its request goes on outside the window).
   */
  private sweep(): void {
    const oldest = this.now() - this.options.maxWaitMs;
    for (const r of this.readers) if (r.since <= oldest) this.stopCounting(r);
    // Those bytes freed first: a waiter that fits now is let in, not refused.
    this.pump();
    for (let i = 0; i < this.queue.length;) {
      const w = this.queue[i]!;
      if (w.state === 'left') {
        this.queue.splice(i, 1);
      } else if (w.since <= oldest) {
        this.queue.splice(i, 1);
        w.state = 'left';
        w.refuse(
          new IntakeError(
            'OVERLOADED',
            `the request waited ${this.options.maxWaitMs} ms for Kafka to take earlier events`,
            { retryAfterSeconds: this.options.retryAfterSeconds?.() ?? 1 },
          ),
        );
      } else {
        i++;
      }
    }
    // Refused waiters, or readers no longer counted, may have held back the head.
    this.pump();
  }

  private stopSweeperWhenIdle(): void {
    if (this.queue.length === 0 && this.readers.size === 0) this.close();
  }
}
