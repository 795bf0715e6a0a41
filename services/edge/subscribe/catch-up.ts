/**
 * Resumes a subscription whose position is older than this edge's ring (it was served by
 * another edge, or by this one before a restart): reads the records after the position
 * from Kafka, then hands the subscriber to the live fan-out.
 *
 * - The seam: after each fetch, the catch-up checks whether the fan-out's ring reaches the
 *   subscriber's position (`covers`) and its replay from there is small (`joinBytes`, one
 *   live fetch's worth by default). If so, in the same synchronous step, the fan-out
 *   replays its ring from the position and adds the subscriber to its live set, and the
 *   reader stops. The ring holds every record between its oldest offset and the live head,
 *   so nothing is missed; a record both paths bring is dropped by the subscriber's
 *   per-partition offset (`Subscription.deliver`), so nothing comes twice.
 * - Memory: the reader brings one fetch at a time (`FETCH_MAX_BYTES`) and pauses while
 *   the subscriber has more than `pauseBytes` unsent, so a resuming client is paced by
 *   its own reading instead of being dropped as a slow consumer. A client that reads
 *   nothing for `stallMs` is dropped as one (`slow-consumer`), freeing the catch-up slot.
 * - Concurrency: each catch-up holds one of the edge's catch-up slots (`Fanouts`), taken
 *   before the answer (503 with Retry-After when none is free).
 * - A reader failure ends the subscription with `resume-failed`; the client reconnects
 *   with its last id and resumes wherever it lands.
 * - A client that reads more slowly than the topic is written never gets within
 *   `joinBytes` of the live head: it stays on its reader (and its slot), paced by its own
 *   reading, where the live fan-out would have dropped it as a slow consumer.
 */
import type { OffsetReader, ReadHandlers } from '../../../lib/kafka/offset-reader';
import { sleep } from '../../../lib/lifecycle';
import type { Logger } from '../../../lib/logger';
import { fanoutRecord } from './fanout';
import type { Subscriber } from './fanout';
import type { EndReason, Subscription } from './subscription';

/** What a catch-up joins: the fan-out's ring and live set. */
export interface LiveFeed {
  covers(from: ReadonlyMap<number, bigint>): boolean;
  backlogBytes(from: ReadonlyMap<number, bigint>): number;
  subscribe(subscriber: Subscriber, from?: ReadonlyMap<number, bigint>): boolean;
}

/** Opens a Kafka reader from the given offsets (`readFromOffsets` on the edge). */
export type OpenReader = (
  from: ReadonlyMap<number, bigint>,
  handlers: ReadHandlers,
) => Promise<OffsetReader>;

export interface CatchUpDeps {
  feed: LiveFeed;
  open: OpenReader;
  subscription: Subscription;
  /** Join the live fan-out once its replay from the position is at most this many bytes. */
  joinBytes: number;
  /** Pause reading while the subscriber has more than this unsent. */
  pauseBytes: number;
  /** Drop a subscriber that reads nothing for this long while paused. */
  stallMs: number;
  /** How often a paused catch-up checks whether the client read. */
  pollMs: number;
  logger: Logger;
  onSlow: () => void;
  /** Called once, when the catch-up joined, failed, or was cancelled. */
  done: () => void;
}

export class CatchUp {
  private reader: OffsetReader | null = null;
  private readerStopped: Promise<void> = Promise.resolve();
  private finished = false;
  private outcome: 'reading' | 'joined' | 'ended' = 'reading';

  constructor(private readonly deps: CatchUpDeps) {}

  get state(): 'reading' | 'joined' | 'ended' {
    return this.outcome;
  }

  /** Joins at once when the ring already reaches the position; else starts the reader. */
  async start(): Promise<void> {
    if (this.tryJoin()) return;
    const sub = this.deps.subscription;
    try {
      const reader = await this.deps.open(new Map(sub.at), {
        records: (_partition, records, heartbeat) => this.take(records, heartbeat),
        reached: (partition, next) => {
          if (this.finished) return;
          sub.advance(partition, next);
          this.tryJoin();
        },
        failed: (err) => this.fail(err),
      });
      this.reader = reader;
      if (this.finished) {
        this.readerStopped = reader.stop();
        await this.readerStopped;
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * The client went (or the edge stops): stops reading, tells it why when given; resolves
   * once the reader stopped.
   */
  cancel(reason?: EndReason): Promise<void> {
    if (reason) this.deps.subscription.end(reason);
    this.finish('ended');
    return this.readerStopped;
  }

  private async take(
    records: Parameters<ReadHandlers['records']>[1],
    heartbeat: () => Promise<void>,
  ): Promise<void> {
    const sub = this.deps.subscription;
    for (const r of records) {
      if (!(await this.room(heartbeat))) return;
      sub.deliver(fanoutRecord(r.partition, r.offset, r.key, r.value));
    }
    this.tryJoin();
  }

  /** Waits until the subscriber read enough; false when the catch-up ended meanwhile. */
  private async room(heartbeat: () => Promise<void>): Promise<boolean> {
    const sub = this.deps.subscription;
    let since = Date.now();
    let last = sub.buffered();
    while (!this.finished && !sub.isEnded && sub.buffered() > this.deps.pauseBytes) {
      await sleep(this.deps.pollMs);
      await heartbeat();
      const now = sub.buffered();
      if (now < last) since = Date.now();
      last = now;
      if (Date.now() - since > this.deps.stallMs) {
        sub.end('slow-consumer');
        this.deps.onSlow();
      }
    }
    if (sub.isEnded) this.finish('ended');
    return !this.finished;
  }

  /** The seam: joins the live fan-out when its ring reaches the subscriber's position. */
  private tryJoin(): boolean {
    if (this.finished) return true;
    const { feed, subscription: sub, joinBytes } = this.deps;
    if (sub.isEnded) {
      this.finish('ended');
      return true;
    }
    if (!feed.covers(sub.at) || feed.backlogBytes(sub.at) > joinBytes) return false;
    feed.subscribe(sub, new Map(sub.at));
    this.finish('joined');
    return true;
  }

  private fail(err: unknown): void {
    if (this.finished) return;
    this.deps.logger.warn({ err }, 'catch_up_failed');
    this.deps.subscription.end('resume-failed');
    this.finish('ended');
  }

  private finish(outcome: 'joined' | 'ended'): void {
    if (this.finished) return;
    this.finished = true;
    this.outcome = outcome;
    if (this.reader) {
      this.readerStopped = this.reader
        .stop()
        .catch((err: unknown) => this.deps.logger.warn({ err }, 'catch_up_stop_failed'));
    }
    this.deps.done();
  }
}
