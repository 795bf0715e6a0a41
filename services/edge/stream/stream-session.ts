/**
 * One stream of events: a WebSocket connection or a chunked NDJSON upload on
 * `/v1/stream`. The transport hands text in and sends the session's messages out; the
 * protocol lives here once (docs/api.md "Streams").
 *
 * - The client sends lines: a frame `{"seq": n, "event": {...}}`, or a bare event whose
 *   sequence number is the previous one + 1 (the first bare event of a stream is 1).
 * - `{"ack": n}` from the server means: every event with seq <= n is durable in Kafka
 *   (acks=all) or was refused by a `{"seq": m, "error": "..."}` message. Acks are
 *   cumulative and coalesced, at most one per `ackIntervalMs`.
 * - A stream may start at any seq (a client resuming after its last ack); afterwards a seq
 *   at or below the last one received is a resend of what this stream already has and is
 *   skipped, and a seq beyond last + 1 is a gap: `{"error": "sequence-gap"}`, then close
 *   (1008). Ids make a resend across connections idempotent downstream.
 * - Flow control: while `maxPendingEvents` events wait for Kafka, or the producer's
 *   in-flight bound is reached, the session pauses the transport (TCP backpressure)
 *   instead of buffering.
 * - Kafka cannot ack: `{"error": "unavailable", "retryAfter": s, "ack": n}`, then close
 *   (1013): the client reconnects after `retryAfter` and resends from n + 1.
 * - The source's quota (`admit`, counted in events per message) refuses a message the
 *   same way: `{"error": "quota-exceeded", "detail", "retryAfter": s, "ack": n, "source",
 *   "quota", "limit"}`, then close (1013); none of the message's events is written. No
 *   `retryAfter`: the message has more events than the quota ever admits at once (split it).
 */
import type { Envelope, RequestMeta } from '../../../lib/envelope';
import { IntakeError } from '../../../lib/errors';
import type { Logger } from '../../../lib/logger';
import type { QuotaDecision, QuotaName } from '../../../lib/sources/quota';
import { quotaRefusalDetail } from '../http/events-route';
import type { SourcePolicy } from '../sources/source-policy';
import { admit } from '../ingest/admit';
import { BodyError, parseBody } from '../ingest/body';
import type { BodyLimits, Item } from '../ingest/body';
import type { Sink } from '../sink';

export type StreamMessage =
  | { ack: number }
  | { seq: number; error: string }
  | { error: 'sequence-gap'; expected: number; got: number }
  | { error: 'unavailable'; detail: string; retryAfter: number; ack: number }
  | {
      error: 'quota-exceeded';
      detail: string;
      retryAfter?: number;
      ack: number;
      source: string;
      quota: QuotaName;
      limit: number;
    }
  | { error: 'bad-frame'; detail: string };

export interface StreamTransport {
  send(message: StreamMessage): void;
  /** Stop reading from the client (TCP backpressure). */
  pause(): void;
  resume(): void;
  close(code: number, reason: string): void;
}

export interface StreamLimits extends BodyLimits {
  /** Events sent to Kafka and not yet acknowledged, per stream; beyond, reading pauses. */
  maxPendingEvents: number;
  ackIntervalMs: number;
}

export const streamDefaults: Omit<StreamLimits, keyof BodyLimits> = {
  maxPendingEvents: 5000,
  ackIntervalMs: 5,
};

export interface StreamSessionDeps {
  sink: Sink;
  transport: StreamTransport;
  source: string;
  meta: RequestMeta;
  limits: StreamLimits;
  logger: Logger;
  onAccepted?: (count: number) => void;
  onRejected?: (count: number) => void;
  /** Takes `events` events from the source's quotas (SourcePolicy.admit); absent: none. */
  admit?: (events: number) => QuotaDecision;
}

export const CLOSE_SEQUENCE_GAP = 1008;
export const CLOSE_TRY_AGAIN_LATER = 1013;

interface Pending {
  /** The last seq this step covers. */
  upTo: number;
  done: boolean;
}

const RETRY_MS = 5;

export class StreamSession {
  private lastSeq = 0;
  private started = false;
  private readonly inbox: string[] = [];
  private paused = false;
  private readonly pending: Pending[] = [];
  private pendingEvents = 0;
  private acked = 0;
  private sentAck = 0;
  private ackTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private idle: (() => void)[] = [];
  readonly counts = { accepted: 0, rejected: 0, resent: 0 };

  constructor(private readonly deps: StreamSessionDeps) {}

  /** One WebSocket message or a run of complete NDJSON lines. */
  receive(text: string): void {
    if (this.closed) return;
    this.inbox.push(text);
    this.drain();
  }

  /** The highest seq acknowledged so far. */
  get ack(): number {
    return this.acked;
  }

  /** Resolves once everything received was acknowledged or refused (or the stream closed). */
  settled(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** The transport went away: stop timers; stores in flight finish unobserved. */
  close(): void {
    this.closed = true;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.ackTimer = this.retryTimer = null;
    this.wakeIdle();
  }

  private drain(): void {
    while (this.inbox.length > 0 && !this.closed) {
      const bytes = Buffer.byteLength(this.inbox[0]!);
      if (
        this.pendingEvents >= this.deps.limits.maxPendingEvents ||
        !this.deps.sink.hasRoom(bytes)
      ) {
        if (!this.paused) {
          this.paused = true;
          this.deps.transport.pause();
        }
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = null;
          this.drain();
        }, RETRY_MS);
        return;
      }
      this.handle(this.inbox.shift()!);
    }
    if (this.paused && !this.closed) {
      this.paused = false;
      this.deps.transport.resume();
    }
  }

  private handle(text: string): void {
    let items;
    try {
      items = parseBody(Buffer.from(text), 'ndjson', null, this.deps.limits).items;
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      this.deps.transport.send({ error: 'bad-frame', detail: err.message });
      return;
    }
    // Sequence first: which items are new to this stream, and their seq numbers.
    const fresh: Item[] = [];
    const seqs: number[] = [];
    let gap: { expected: number; got: number } | null = null;
    for (const item of items) {
      const frame = item.ok
        ? asFrame(item.value, this.lastSeq)
        : { seq: this.lastSeq + 1, error: item.reason };
      if (frame.seq <= this.lastSeq && this.started) {
        this.counts.resent += 1;
        continue;
      }
      if (frame.seq > this.lastSeq + 1 && this.started) {
        gap = { expected: this.lastSeq + 1, got: frame.seq };
        break;
      }
      this.started = true;
      this.lastSeq = frame.seq;
      seqs.push(frame.seq);
      fresh.push(
        'error' in frame ? { ok: false, reason: frame.error } : { ok: true, value: frame.event },
      );
    }
    const admitted = admit(fresh, {
      source: this.deps.source,
      pattern: 'stream',
      receivedAt: new Date(),
      meta: this.deps.meta,
    });
    const envelopes: Envelope[] = admitted.envelopes.map((a) => a.envelope);
    const rejected = admitted.rejected.length;
    for (const r of admitted.rejected) {
      this.deps.transport.send({ seq: seqs[r.index]!, error: r.reason });
    }
    if (gap) {
      this.deps.transport.send({ error: 'sequence-gap', ...gap });
      this.finish(CLOSE_SEQUENCE_GAP, `sequence gap: expected ${gap.expected}`);
    }
    if (rejected > 0) {
      this.counts.rejected += rejected;
      this.deps.onRejected?.(rejected);
    }
    if (envelopes.length > 0 && !this.withinQuota(envelopes.length)) return;
    const step: Pending = { upTo: this.lastSeq, done: envelopes.length === 0 };
    this.pending.push(step);
    if (step.done) {
      this.advance();
      return;
    }
    this.pendingEvents += envelopes.length;
    this.deps.sink.store(envelopes).then(
      () => {
        this.pendingEvents -= envelopes.length;
        this.counts.accepted += envelopes.length;
        this.deps.onAccepted?.(envelopes.length);
        step.done = true;
        this.advance();
      },
      (err: unknown) => {
        this.pendingEvents -= envelopes.length;
        this.fail(err);
      },
    );
  }

  private advance(): void {
    while (this.pending[0]?.done) this.acked = this.pending.shift()!.upTo;
    if (this.acked > this.sentAck && !this.ackTimer && !this.closed) {
      this.ackTimer = setTimeout(() => {
        this.ackTimer = null;
        this.flushAck();
      }, this.deps.limits.ackIntervalMs);
    }
    if (this.isIdle()) this.wakeIdle();
  }

  private flushAck(): void {
    if (this.acked > this.sentAck) {
      this.sentAck = this.acked;
      this.deps.transport.send({ ack: this.acked });
    }
    if (this.isIdle()) this.wakeIdle();
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    const retryAfter = err instanceof IntakeError ? (err.retryAfterSeconds ?? 1) : 1;
    this.deps.logger.warn({ err, ack: this.acked }, 'stream_store_failed');
    this.deps.transport.send({
      error: 'unavailable',
      detail: 'Events could not be made durable in time; reconnect and resend after the ack.',
      retryAfter,
      ack: this.acked,
    });
    this.finish(CLOSE_TRY_AGAIN_LATER, 'Kafka unavailable; resend from the last ack');
  }

  /** Takes the events from the source's quota; when refused, says so and closes (1013). */
  private withinQuota(events: number): boolean {
    const decision = this.deps.admit?.(events);
    if (!decision || decision.ok) return true;
    if (this.closed) return false;
    const { source } = this.deps;
    this.deps.transport.send({
      error: 'quota-exceeded',
      detail: quotaRefusalDetail(source, events, decision),
      ...(decision.retryAfterSeconds === null ? {} : { retryAfter: decision.retryAfterSeconds }),
      ack: this.acked,
      source,
      quota: decision.quota,
      limit: decision.limit,
    });
    this.finish(CLOSE_TRY_AGAIN_LATER, `source over its ${decision.quota} quota`);
    return false;
  }

  private finish(code: number, reason: string): void {
    this.close();
    this.deps.transport.close(code, reason);
  }

  private isIdle(): boolean {
    return this.closed || (this.inbox.length === 0 && this.pending.length === 0 && !this.ackTimer);
  }

  private wakeIdle(): void {
    const waiting = this.idle;
    this.idle = [];
    for (const resolve of waiting) resolve();
  }
}

/** The `admit` of a session of `source`: its quotas under `policy` (absent: none). */
export function quotaOf(
  policy: SourcePolicy | undefined,
  source: string,
): ((events: number) => QuotaDecision) | undefined {
  return policy && ((events) => policy.admit(source, events));
}

type Frame = { seq: number; event: unknown } | { seq: number; error: string };

/** A line is a `{seq, event}` frame, or a bare event numbered after the previous one. */
function asFrame(value: unknown, lastSeq: number): Frame {
  if (typeof value !== 'object' || value === null || !('seq' in value)) {
    return { seq: lastSeq + 1, event: value };
  }
  const { seq, event } = value as { seq: unknown; event?: unknown };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    return { seq: lastSeq + 1, error: '"seq" must be a positive integer' };
  }
  if (event === undefined) return { seq, error: 'a frame is {"seq": n, "event": {...}}' };
  return { seq, event };
}
