/**
 * The one way the SDK routes (Segment, Snowplow) hand events to Kafka: each SDK message
 * was mapped to an Intake event (`{ id, key, type, ts, data }`) or to a reason; admission
 * (ingest/admit.ts) wraps the events into envelopes with the request's meta, and the
 * sink stores them: `storeMapped` resolves with the outcome only after Kafka acknowledged
 * every envelope (acks=all, the same path as `POST /v1/events`). When the sink cannot
 * make them durable it answers `503` with `Retry-After` (or `500`) itself and resolves
 * null: never a 2xx for data that is not durable.
 *
 * With sources (`sources`), the valid events are first taken from their source's quotas
 * (SourcePolicy.admit, counted in events: a Segment batch of 20 takes 20): a refusal is
 * the 429 of `POST /v1/events` (`sendQuotaRefusal`) and nothing is written. Events of
 * several sources in one request (Snowplow app ids) are taken source by source: the
 * first refusal answers the request, the sources taken before it keep their count.
 */
import type { Request, Response } from 'express';
import type { Logger } from '../../../lib/logger';
import { admit } from '../ingest/admit';
import type { Item } from '../ingest/body';
import type { Rejected } from '../ingest/admit';
import type { EdgeMetrics } from '../metrics';
import type { Sink } from '../sink';
import { sendStoreFailure } from '../http/respond';
import { sendQuotaRefusal } from '../http/events-route';
import type { SourcePolicy } from '../sources/source-policy';

/** An SDK message mapped to an Intake event, or the reason it cannot be one. */
export type Mapped = { ok: true; event: IntakeEvent } | { ok: false; reason: string };

/** The client event `wrapEvent` (lib/envelope.ts) takes. */
export interface IntakeEvent {
  type: string;
  id?: string;
  key?: string;
  ts?: string;
  data: unknown;
}

export interface SdkDeps {
  sink: Sink;
  metrics: EdgeMetrics;
  logger: Logger;
  defaultSource: string;
  maxEventsPerRequest: number;
  /** Per-source quotas (sources/source-policy.ts); absent: none. */
  sources?: SourcePolicy;
}

export interface Stored {
  accepted: number;
  /** By index in the request, in order. */
  rejected: Rejected[];
}

export interface StoreOptions {
  /** Each message's source (by index); absent: `source`. */
  sourceOf?: (index: number) => string;
  source: string;
  /** `SP-Anonymous`: the client's address is not recorded. */
  anonymous?: boolean;
}

export async function storeMapped(
  deps: SdkDeps,
  req: Request,
  res: Response,
  mapped: readonly Mapped[],
  options: StoreOptions,
): Promise<Stored | null> {
  const items: Item[] = mapped.map((m) => (m.ok ? { ok: true, value: m.event } : m));
  const { envelopes, rejected } = admit(items, {
    source: options.source,
    pattern: 'request-ack',
    receivedAt: new Date(),
    meta: {
      requestId: req.headers['x-request-id'] as string | undefined,
      ip: options.anonymous ? undefined : req.ip,
      userAgent: req.headers['user-agent'],
      traceparent: req.headers.traceparent as string | undefined,
    },
  });
  if (options.sourceOf) for (const a of envelopes) a.envelope.source = options.sourceOf(a.index);
  if (rejected.length > 0) deps.metrics.eventsRejected.inc({ reason: 'invalid' }, rejected.length);
  if (envelopes.length === 0) return { accepted: 0, rejected };
  if (deps.sources && !withinQuotas(deps.sources, res, envelopes)) return null;
  try {
    await deps.sink.store(envelopes.map((a) => a.envelope));
  } catch (err) {
    deps.metrics.eventsRejected.inc({ reason: 'unavailable' }, envelopes.length);
    sendStoreFailure(res, err, deps.logger.child({ module: 'sdk' }));
    return null;
  }
  deps.metrics.eventsAccepted.inc(envelopes.length);
  return { accepted: envelopes.length, rejected };
}

/** Takes the events from their sources' quotas; false when refused (answered 429). */
function withinQuotas(
  policy: SourcePolicy,
  res: Response,
  envelopes: readonly { envelope: { source: string } }[],
): boolean {
  const counts = new Map<string, number>();
  for (const { envelope } of envelopes)
    counts.set(envelope.source, (counts.get(envelope.source) ?? 0) + 1);
  for (const [source, events] of counts) {
    const decision = policy.admit(source, events);
    if (!decision.ok) {
      sendQuotaRefusal(res, source, events, decision);
      return false;
    }
  }
  return true;
}

/** True for a JSON object (not an array, not null). */
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
