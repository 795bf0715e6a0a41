/**
 * Pulls one upstream stream into `intake.raw`, resuming where it left off.
 *
 * - Events are gathered into batches (`maxEvents`, or whatever `lingerMs` brought) and
 *   each batch is committed with its last position in one transaction (`tx-writer.ts`).
 *   The position advances only after Kafka committed, so what was acknowledged upstream
 *   of the commit is never skipped after a crash.
 * - A failed write ends the connection: the batches after it are dropped, and the puller
 *   reconnects from the last committed position, so no later commit can jump over them.
 * - A disconnect or an upstream error is retried with exponential backoff and jitter.
 * - One owner per upstream: the writer's transactional id is per upstream, so a puller
 *   that (re)starts its writer fences any other on that upstream. The loop starts its
 *   writer and only THEN reads the committed position (`readPosition`, read committed), so
 *   it resumes after everything the previous owner committed; it does the same after any
 *   failed write, never trusting its in-memory position.
 * - A fenced puller stands down: it does not restart its writer (that would fence the
 *   owner back), it closes the upstream and watches the committed position every
 *   `fencedBackoffMs`; while the position moves, another puller owns the upstream. Once it
 *   stopped moving for a whole period (the owner died or hangs; or the upstream is idle,
 *   when taking over costs nothing), it takes over as above. Its `state` is `standby`
 *   meanwhile (the puller's /readyz answers 503).
 * - A write that failed for another reason may still have been fenced: Kafka 4.1 can answer
 *   a commit racing a newer writer's start with an unexpected error, not a fencing one.
 *   So before restarting its writer after such a failure, the puller watches the committed
 *   position for `ownerCheckMs`: if it moves, another puller writes, and it stands down as
 *   if fenced; if not, it takes over.
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
import { hasCode } from '../../lib/errors';
import { readUpstream } from './upstream';
import type { UpstreamEvent, UpstreamSpec } from './upstream';

export interface PullerOptions {
  maxEvents: number;
  lingerMs: number;
  backoffMs: { initial: number; max: number };
  fencedBackoffMs: number;
  /** After a failed write not known to be fenced: how long the position is watched first. */
  ownerCheckMs: number;
}

export const pullerDefaults: PullerOptions = {
  maxEvents: 500,
  lingerMs: 50,
  backoffMs: { initial: 200, max: 30_000 },
  fencedBackoffMs: 30_000,
  ownerCheckMs: 2000,
};

/** `starting`: (re)starting the writer and reading the position; `active`: owns the upstream. */
export type PullerState = 'starting' | 'active' | 'standby';

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
  state: PullerState = 'starting';
  /** The last committed position (null: from the upstream's start); read at each takeover. */
  position: string | null = null;
  private readonly log: Logger;

  /** Events read from the upstream and not yet handed to the writer (committed by the next flush). */
  get pendingEvents(): number {
    return this.batch.length;
  }

  constructor(
    private readonly spec: UpstreamSpec,
    private readonly writer: PositionWriter,
    /** This upstream's committed position in Kafka (read committed; null: none yet). */
    private readonly readPosition: () => Promise<string | null>,
    logger: Logger,
    private readonly options: PullerOptions = pullerDefaults,
    private readonly events: PullerEvents = {},
  ) {
    this.batchPosition = null;
    this.log = logger.child({ module: 'puller', upstream: spec.name });
  }

  get name(): string {
    return this.spec.name;
  }

  /** Runs until `signal` aborts; then commits what it holds. */
  async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    let owner = false; // writer (re)started and position read since the last failed write
    let fenced = false;
    let writeFailed = false; // the last write failed, not known to be fenced
    while (!signal.aborted) {
      this.batch = [];
      this.failure = null;
      let delay: number | null = null;
      const ticker = setInterval(
        () => void this.flush().catch(() => undefined),
        this.options.lingerMs,
      );
      try {
        if (writeFailed) {
          fenced = await this.anotherWriter(signal); // a failed read: checked again next turn
          writeFailed = false;
          if (signal.aborted) break;
        }
        if (fenced) {
          await this.standBy(signal);
          fenced = false;
          if (signal.aborted) break;
        }
        if (!owner) {
          await this.takeOver();
          owner = true;
        }
        this.batchPosition = this.position;
        this.log.info({ position: this.position }, 'upstream_connecting');
        for await (const event of readUpstream(this.spec, this.position, signal)) {
          if (!this.connected) this.log.info({ position: this.position }, 'upstream_connected');
          this.connected = true;
          attempt = 0;
          this.add(event);
          if (this.failure) break; // start over from the committed position
          if (this.batch.length >= this.options.maxEvents) await this.flush();
        }
        this.log.info('upstream_ended');
      } catch (err) {
        if (!signal.aborted) {
          this.log.warn({ err }, 'upstream_failed');
          if (hasCode(err, 'KAFKA_FENCED')) {
            fenced = true;
            owner = false;
          }
        }
      } finally {
        clearInterval(ticker);
        this.connected = false;
      }
      await this.flush().catch(() => undefined);
      if (this.failure) {
        owner = false;
        if (hasCode(this.failure, 'KAFKA_FENCED')) {
          fenced = true;
          delay = 0; // standBy() waits
        } else {
          writeFailed = true;
        }
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

  /** Starts a fresh writer (fencing any other puller), then reads the committed position. */
  private async takeOver(): Promise<void> {
    this.state = 'starting';
    await this.writer.reset();
    this.position = await this.readPosition();
    this.state = 'active';
    this.log.info({ position: this.position }, 'upstream_owned');
  }

  /** True when the committed position moves within `ownerCheckMs`: another puller writes. */
  private async anotherWriter(signal: AbortSignal): Promise<boolean> {
    this.state = 'starting';
    const before = await this.readPosition();
    await abortableSleep(this.options.ownerCheckMs, signal);
    if (signal.aborted) return false;
    const after = await this.readPosition();
    if (after === before) return false;
    this.log.warn({ before, after }, 'another_puller_writing');
    return true;
  }

  /** Fenced: waits while another puller moves the committed position. */
  private async standBy(signal: AbortSignal): Promise<void> {
    this.state = 'standby';
    let seen = await this.readPosition();
    this.log.warn({ position: seen, periodMs: this.options.fencedBackoffMs }, 'fenced_standing_by');
    for (;;) {
      await abortableSleep(this.options.fencedBackoffMs, signal);
      if (signal.aborted) return;
      const now = await this.readPosition();
      if (now === seen) break;
      seen = now;
    }
    this.log.info({ position: seen }, 'owner_quiet_taking_over');
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

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
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
