/**
 * Pulls one upstream stream into `intake.raw`, resuming where it left off.
 *
 * - Events are gathered into batches (`maxEvents`, or whatever `lingerMs` brought) and
 *   each batch is committed with its last position in one transaction (`tx-writer.ts`).
 *   The position advances only after Kafka committed, so what was acknowledged upstream
 *   of the commit is never skipped after a crash.
 * - A failed write ends the connection: the batches after it are dropped, and the puller
 *   reconnects from the last committed position, so no later commit can jump over them.
 * - A disconnect or an upstream error is retried with exponential backoff and jitter;
 *   a fenced writer (another puller took this upstream) backs off for `fencedBackoffMs`.
 * - Upstream events become Intake events: a JSON object with a string `type` is taken as
 *   it is; anything else is wrapped as `{type: <SSE event name or "upstream_event">,
 *   data}`. An event without an id gets `<upstream>:<position>`, so a resend after a
 *   reconnect carries the same id (idempotent downstream).
 */
import type { Envelope } from '../../lib/envelope';
import { wrapEvent } from '../../lib/envelope';
import type { Logger } from '../../lib/logger';
import { sleep } from '../../lib/lifecycle';
import type { PositionWriter } from './tx-writer';
import { isFenced } from './tx-writer';
import { readUpstream } from './upstream';
import type { UpstreamEvent, UpstreamSpec } from './upstream';

export interface PullerOptions {
  maxEvents: number;
  lingerMs: number;
  backoffMs: { initial: number; max: number };
  fencedBackoffMs: number;
}

export const pullerDefaults: PullerOptions = {
  maxEvents: 500,
  lingerMs: 50,
  backoffMs: { initial: 200, max: 30_000 },
  fencedBackoffMs: 30_000,
};

export interface PullerEvents {
  onCommitted?: (events: number) => void;
  onReconnect?: () => void;
  onWriteFailed?: () => void;
}

export class UpstreamPuller {
  private batch: Envelope[] = [];
  private batchPosition: string | null;
  private flushing: Promise<void> | null = null;
  private failure: unknown = null;
  connected = false;
  committedEvents = 0;
  private readonly log: Logger;

  constructor(
    private readonly spec: UpstreamSpec,
    private readonly writer: PositionWriter,
    /** The last committed position (null: from the upstream's start). */
    public position: string | null,
    logger: Logger,
    private readonly options: PullerOptions = pullerDefaults,
    private readonly events: PullerEvents = {},
  ) {
    this.batchPosition = position;
    this.log = logger.child({ module: 'puller', upstream: spec.name });
  }

  get name(): string {
    return this.spec.name;
  }

  /** Runs until `signal` aborts; then commits what it holds. */
  async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      this.batch = [];
      this.batchPosition = this.position;
      this.failure = null;
      const ticker = setInterval(
        () => void this.flush().catch(() => undefined),
        this.options.lingerMs,
      );
      let delay: number | null = null;
      try {
        this.log.info({ position: this.position }, 'upstream_connecting');
        for await (const event of readUpstream(this.spec, this.position, signal)) {
          if (!this.connected) this.log.info({ position: this.position }, 'upstream_connected');
          this.connected = true;
          attempt = 0;
          this.add(event);
          if (this.failure) break; // reconnect from the last committed position
          if (this.batch.length >= this.options.maxEvents) await this.flush();
        }
        this.log.info('upstream_ended');
      } catch (err) {
        if (!signal.aborted) {
          this.log.warn({ err }, 'upstream_failed');
          if (isFenced(err)) delay = this.options.fencedBackoffMs;
        }
      } finally {
        clearInterval(ticker);
        this.connected = false;
      }
      await this.flush().catch(() => undefined);
      if (this.failure) {
        if (isFenced(this.failure)) delay = this.options.fencedBackoffMs;
        await this.writer
          .reset()
          .catch((err: unknown) => this.log.warn({ err }, 'writer_reset_failed'));
      }
      if (signal.aborted) break;
      const { initial, max } = this.options.backoffMs;
      const exp = Math.min(max, initial * 2 ** attempt);
      attempt += 1;
      delay ??= exp / 2 + Math.random() * (exp / 2);
      this.events.onReconnect?.();
      this.log.info(
        { delayMs: Math.round(delay), position: this.position },
        'upstream_reconnect_scheduled',
      );
      await sleep(delay);
    }
  }

  private add(event: UpstreamEvent): void {
    if (this.failure) return;
    this.batch.push(toEnvelope(this.spec.name, event));
    if (event.position !== null) this.batchPosition = event.position;
  }

  /** Commits the gathered batch (one at a time); a failure stops further commits. */
  private async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.failure || this.batch.length === 0) return;
    const envelopes = this.batch;
    const position = this.batchPosition;
    this.batch = [];
    this.flushing = this.writer.write(envelopes, position).then(
      () => {
        this.position = position;
        this.committedEvents += envelopes.length;
        this.events.onCommitted?.(envelopes.length);
      },
      (err: unknown) => {
        this.failure = err;
        this.events.onWriteFailed?.();
        this.log.warn({ err, dropped: envelopes.length }, 'commit_failed_reconnecting');
      },
    );
    try {
      await this.flushing;
    } finally {
      this.flushing = null;
    }
  }
}

export function toEnvelope(
  upstream: string,
  event: UpstreamEvent,
  receivedAt = new Date(),
): Envelope {
  let value: unknown;
  try {
    value = JSON.parse(event.data);
  } catch {
    value = event.data;
  }
  const isEvent =
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { type?: unknown }).type === 'string';
  const candidate: Record<string, unknown> = isEvent
    ? { ...(value as Record<string, unknown>) }
    : { type: event.name ?? 'upstream_event', data: value };
  if (candidate.id === undefined && event.position !== null) {
    candidate.id = `${upstream}:${event.position}`.slice(0, 128);
  }
  const ctx = { source: `puller:${upstream}`, pattern: 'stream' as const, receivedAt, meta: {} };
  const wrapped = wrapEvent(candidate, ctx);
  if (wrapped.ok) return wrapped.envelope;
  // Not a valid Intake event: keep it whole as data; the worker's validation decides (DLQ).
  const kept = wrapEvent(
    { type: event.name ?? 'upstream_event', id: candidate.id, data: value },
    ctx,
  );
  if (kept.ok) return kept.envelope;
  const last = wrapEvent({ type: 'upstream_event', data: value }, ctx);
  if (!last.ok) throw new Error(`cannot wrap an upstream event: ${last.reason}`);
  return last.envelope;
}
