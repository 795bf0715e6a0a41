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
 *   (503 with Retry-After), so a stalled Kafka never holds requests without bound;
 * - a waiter whose client left (`cancel()`) is forgotten without being let in;
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
}

/** A request that was not let in at once. */
export interface Waiting {
  /** Forgets the request (its client left); it is never let in nor refused. */
  cancel(): void;
}

interface Waiter extends Waiting {
  bytes: number;
  since: number;
  cancelled: boolean;
  go: () => void;
  refuse: (err: IntakeError) => void;
}

export class ReadWindow {
  private reading = 0;
  private readonly queue: Waiter[] = [];
  private sweeper: NodeJS.Timeout | null = null;
  private readonly now: () => number;

  constructor(private readonly options: ReadWindowOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Lets a body of `bytes` be read: `go` runs now (and `enter` returns null) when it fits
   * and nobody waits, else later in arrival order; `refuse` runs instead when it waited
   * longer than `maxWaitMs`. The caller calls `done(bytes)` once the body was read and
   * handed on (or failed).
   */
  enter(bytes: number, go: () => void, refuse: (err: IntakeError) => void): Waiting | null {
    if (this.queue.length === 0 && this.fits(bytes)) {
      this.reading += bytes;
      go();
      return null;
    }
    const waiter: Waiter = {
      bytes,
      since: this.now(),
      cancelled: false,
      go,
      refuse,
      cancel: () => {
        waiter.cancelled = true;
      },
    };
    this.queue.push(waiter);
    this.sweeper ??= setInterval(() => this.sweep(), this.options.sweepMs ?? 500).unref();
    return waiter;
  }

  /** A body let in was read and handed on, or failed: its bytes leave the window. */
  done(bytes: number): void {
    this.reading -= bytes;
    this.pump();
  }

  /** Lets in the waiters that fit now (call it when the sink's queue shrank). */
  pump(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.cancelled) {
        this.queue.shift();
        continue;
      }
      if (!this.fits(head.bytes)) break;
      this.queue.shift();
      this.reading += head.bytes;
      head.go();
    }
    this.stopSweeperWhenIdle();
  }

  /** Requests waiting to be read (cancelled ones included until they reach the head). */
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

  private fits(bytes: number): boolean {
    const held = this.reading + this.options.queuedBytes();
    return held === 0 || held + bytes <= this.options.limitBytes;
  }

  private sweep(): void {
    const oldest = this.now() - this.options.maxWaitMs;
    for (let i = 0; i < this.queue.length;) {
      const w = this.queue[i]!;
      if (w.cancelled) {
        this.queue.splice(i, 1);
      } else if (w.since <= oldest) {
        this.queue.splice(i, 1);
        w.refuse(
          new IntakeError(
            'OVERLOADED',
            `the request waited ${this.options.maxWaitMs} ms for Kafka to take earlier events`,
            { retryAfterSeconds: 1 },
          ),
        );
      } else {
        i++;
      }
    }
    // Refused waiters may have been the head that did not fit.
    this.pump();
  }

  private stopSweeperWhenIdle(): void {
    if (this.queue.length === 0) this.close();
  }
}
