/**
 * The tracker's durable send queue, free of browser APIs (its store, transport and clock
 * are given), so its rules are unit tested with fakes:
 *
 * - Every event gets its id when it is tracked (the caller's `id`), and keeps it across
 *   every retry and every page: the edge and the workers keep it, so a consumer that
 *   deduplicates by id sees each event once, however often it was sent.
 * - An event is written to the store when tracked and removed only once the edge answered
 *   for it: accepted (2xx, listed under `accepted`), or refused for good (a 4xx for its
 *   batch or listed under `rejected`: counted in `rejected`, never resent). A reload, a
 *   crash or an offline hour loses nothing the store kept.
 * - Bounded: at most `maxQueue` events; beyond it the oldest are dropped and counted in
 *   `dropped`.
 * - Batches of at most `batchSize` events and `maxBatchBytes` (under the browser's 64 KiB
 *   beacon quota); a `413` halves the batch size.
 * - Retries: a network failure, `408`, `429`, `5xx` (and `401`/`403`: a key can be fixed
 *   without losing events) wait an exponential backoff with jitter, or exactly what
 *   `Retry-After` says on `429`/`503`; `flush()` sends at once unless the edge asked to
 *   wait (`Retry-After`), and `online()` forgets the backoff.
 * - `hide()` (the page is being hidden or closed) hands every queued event to the beacon;
 *   they stay queued, so a later page resends them unless it sees them acknowledged (a
 *   duplicate then carries the same id).
 */

export interface TrackedEvent {
  id: string;
  type: string;
  key: string;
  ts: string;
  data?: unknown;
}

/** Where queued events survive the page (IndexedDB, localStorage, or memory). */
export interface EventStore {
  load(): Promise<TrackedEvent[]>;
  put(events: TrackedEvent[]): Promise<void>;
  remove(ids: string[]): Promise<void>;
}

/** What became of one batch sent: an answer, or none (offline, refused connection, CORS). */
export type SendOutcome =
  | { answered: true; status: number; retryAfterSeconds?: number; body?: unknown }
  | { answered: false };

export interface Transport {
  /** Sends one batch; never throws. */
  send(events: TrackedEvent[]): Promise<SendOutcome>;
  /** Hands one batch to the browser's beacon; false when the browser refused it. */
  beacon(events: TrackedEvent[]): boolean;
}

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

export interface QueueOptions {
  maxQueue: number;
  batchSize: number;
  maxBatchBytes: number;
  /** How long a tracked event waits for others to share its request. */
  flushDelayMs: number;
  minBackoffMs: number;
  maxBackoffMs: number;
}

export const queueDefaults: QueueOptions = {
  maxQueue: 1000,
  batchSize: 50,
  maxBatchBytes: 60_000,
  flushDelayMs: 1000,
  minBackoffMs: 1000,
  maxBackoffMs: 60_000,
};

export interface QueueStats {
  /** Events waiting to be acknowledged. */
  queued: number;
  /** Events acknowledged by the edge (durable in Kafka). */
  sent: number;
  /** Events the edge refused for good (invalid), never resent. */
  rejected: number;
  /** The oldest events dropped because the queue was full. */
  dropped: number;
}

interface Answer {
  accepted?: { index: number }[];
  rejected?: { index: number }[];
}

export class EventQueue {
  /** Oldest first. */
  private events: TrackedEvent[] = [];
  private readonly inFlight = new Set<string>();
  /** Events this page handed to the beacon (a close fires visibilitychange, then pagehide). */
  private readonly beaconed = new Set<string>();
  private timer: unknown = null;
  private timerAt = 0;
  private attempts = 0;
  /** No automatic send before this time (backoff, or the edge's Retry-After). */
  private retryAt = 0;
  /** No send at all before this time (the edge's Retry-After). */
  private notBefore = 0;
  private batchLimit: number;
  private draining: Promise<void> | null = null;
  private readonly counts = { sent: 0, rejected: 0, dropped: 0 };
  /** Store writes not completed yet. */
  private readonly writes = new Set<Promise<void>>();
  readonly ready: Promise<void>;

  constructor(
    private readonly store: EventStore,
    private readonly transport: Transport,
    private readonly clock: Clock,
    private readonly options: QueueOptions = queueDefaults,
  ) {
    this.batchLimit = options.batchSize;
    this.ready = store.load().then(
      (stored) => {
        const mine = new Set(this.events.map((e) => e.id));
        const restored = stored.filter((e) => !mine.has(e.id));
        this.events = [...restored, ...this.events];
        this.bound();
        // What an earlier page left goes at once; what this page tracked meanwhile keeps
        // its flush delay (scheduled by `add`).
        if (restored.length > 0) this.schedule(0);
      },
      () => undefined, // an unreadable store: start empty, keep what this page tracks
    );
  }

  /** Queues one event (persisted at once) and schedules a send. */
  add(event: TrackedEvent): void {
    this.events.push(event);
    const write = this.store.put([event]).catch(() => undefined);
    this.writes.add(write);
    void write.then(() => this.writes.delete(write));
    this.bound();
    this.schedule(this.options.flushDelayMs);
  }

  stats(): QueueStats {
    return { queued: this.events.length, ...this.counts };
  }

  /**
   * Sends what is queued now (unless the edge asked to wait); resolves when done trying,
   * once every event tracked before is acknowledged or written to the store.
   */
  async flush(): Promise<QueueStats> {
    await this.ready;
    await Promise.all(this.writes);
    const wait = this.notBefore - this.clock.now();
    if (wait > 0) this.schedule(wait);
    else await this.drain();
    return this.stats();
  }

  /** The browser is back online: forget the backoff and send. */
  online(): Promise<QueueStats> {
    this.attempts = 0;
    this.retryAt = this.notBefore;
    return this.flush();
  }

  /**
   * The page is being hidden or closed: hands every queued event this page has not handed
   * yet to the beacon (as many batches as the browser takes). They stay queued until
   * acknowledged. Returns how many it handed.
   */
  hide(): number {
    let handed = 0;
    for (let rest = this.events.filter((e) => !this.beaconed.has(e.id)); rest.length > 0;) {
      const batch = this.take(rest, this.options.batchSize);
      if (!this.transport.beacon(batch)) break;
      for (const e of batch) this.beaconed.add(e.id);
      handed += batch.length;
      rest = rest.slice(batch.length);
    }
    return handed;
  }

  private bound(): void {
    const over = this.events.length - this.options.maxQueue;
    if (over <= 0) return;
    const dropped = this.events.splice(0, over);
    this.counts.dropped += over;
    for (const e of dropped) this.beaconed.delete(e.id);
    this.store.remove(dropped.map((e) => e.id)).catch(() => undefined);
  }

  private schedule(ms: number): void {
    const now = this.clock.now();
    const at = Math.max(now + ms, this.retryAt);
    if (this.timer !== null && this.timerAt <= at && this.timerAt >= this.retryAt) return;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      void this.drain();
    }, at - now);
  }

  private drain(): Promise<void> {
    this.draining ??= this.sendAll().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  private async sendAll(): Promise<void> {
    for (;;) {
      const batch = this.take(
        this.events.filter((e) => !this.inFlight.has(e.id)),
        this.batchLimit,
      );
      if (batch.length === 0) return;
      for (const e of batch) this.inFlight.add(e.id);
      const outcome = await this.transport.send(batch);
      for (const e of batch) this.inFlight.delete(e.id);
      const retryIn = this.settle(batch, outcome);
      if (retryIn !== null) {
        this.retryAt = this.clock.now() + retryIn;
        this.schedule(retryIn);
        return;
      }
      this.retryAt = 0;
    }
  }

  /** Applies an answer to its batch; returns when to try again, or null to go on. */
  private settle(batch: TrackedEvent[], outcome: SendOutcome): number | null {
    if (!outcome.answered) return this.backoff();
    const { status } = outcome;
    if (status >= 200 && status < 300) {
      this.attempts = 0;
      const answer = (outcome.body ?? {}) as Answer;
      if (!Array.isArray(answer.accepted)) {
        this.done(batch, 'sent');
        return null;
      }
      const pick = (items: { index: number }[] | undefined) =>
        (items ?? []).map((item) => batch[item.index]).filter((e) => e !== undefined);
      this.done(pick(answer.accepted), 'sent');
      this.done(pick(answer.rejected), 'rejected');
      return null;
    }
    if (status === 413 && batch.length > 1) {
      this.batchLimit = Math.max(1, Math.floor(batch.length / 2));
      return null;
    }
    if (status === 429 || status === 503) {
      if (outcome.retryAfterSeconds !== undefined) {
        this.attempts += 1;
        const wait = outcome.retryAfterSeconds * 1000;
        this.notBefore = this.clock.now() + wait;
        return wait;
      }
      return this.backoff();
    }
    if (status === 401 || status === 403 || status === 408 || status >= 500) return this.backoff();
    this.done(batch, 'rejected'); // 400, 413 for one event, 415, 422: resending cannot help
    return null;
  }

  private backoff(): number {
    this.attempts += 1;
    const { minBackoffMs, maxBackoffMs } = this.options;
    const full = Math.min(maxBackoffMs, minBackoffMs * 2 ** (this.attempts - 1));
    return Math.round(full * (0.5 + this.clock.random() / 2));
  }

  private done(events: TrackedEvent[], as: 'sent' | 'rejected'): void {
    if (events.length === 0) return;
    const ids = new Set(events.map((e) => e.id));
    for (const id of ids) this.beaconed.delete(id);
    const before = this.events.length;
    this.events = this.events.filter((e) => !ids.has(e.id));
    this.counts[as] += before - this.events.length;
    this.store.remove([...ids]).catch(() => undefined);
  }

  /** The first events of `from` that fit one batch (always at least one). */
  private take(from: TrackedEvent[], limit: number): TrackedEvent[] {
    const batch: TrackedEvent[] = [];
    let bytes = 2;
    for (const e of from) {
      const size = JSON.stringify(e).length + 1;
      if (batch.length >= limit || (batch.length > 0 && bytes + size > this.options.maxBatchBytes))
        break;
      batch.push(e);
      bytes += size;
    }
    return batch;
  }
}
