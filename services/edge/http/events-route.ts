/**
 * `POST /v1/events`: one JSON event, a JSON array of events, or NDJSON (one per line);
 * gzip or deflate encoded or not. The route reads the request (events-request.ts), parses
 * the body and admits its items (ingest/), keys events without a key by the visitor
 * (visitor.ts), then answers in the mode asked (events-responders.ts):
 *
 * - request/acknowledge (default): `202` only after the sink made every accepted event
 *   durable (Kafka acks=all), with each one's `id` and `receipt`; `503` with
 *   `Retry-After` when that cannot happen in time, never `202`.
 * - `?wait=processed` (request/response): see `respond.ts`.
 * - `?ack=none` (one-way): `204` at once; the events may be lost (counted).
 *
 * Invalid items are listed under `rejected` by index while the valid ones are accepted;
 * when no item is valid, `422`.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { QuotaDecision } from '../../../lib/sources/quota';
import type { RequestMeta } from '../../../lib/envelope';
import type { Logger } from '../../../lib/logger';
import { admit } from '../ingest/admit';
import { BodyError, parseBody } from '../ingest/body';
import type { BodyLimits, ParsedBody } from '../ingest/body';
import type { EdgeMetrics } from '../metrics';
import type { OneWayQueue } from '../one-way-queue';
import type { Sink } from '../sink';
import { readEventsRequest } from './events-request';
import type { EventsRequest } from './events-request';
import { respondAcknowledged, respondOneWay } from './events-responders';
import { respondWhenProcessed } from './respond';
import type { RespondDeps } from './respond';
import { sendProblem } from './send-problem';
import { Visitor } from './visitor';
import type { SourcePolicy } from '../sources/source-policy';

export interface EventsRouteDeps {
  sink: Sink;
  logger: Logger;
  metrics: EdgeMetrics;
  defaultSource: string;
  maxEventsPerRequest: number;
  bodyLimits: BodyLimits;
  /** Request/response (`?wait=processed`); absent: answered 400. */
  respond?: RespondDeps;
  /** One-way (`?ack=none`); absent: answered 400. */
  oneWay?: OneWayQueue;
  /** Per-source quotas and privacy (sources/source-policy.ts); absent: none. */
  sources?: SourcePolicy;
}

export function eventsRoute(deps: EventsRouteDeps): RequestHandler {
  const log = deps.logger.child({ module: 'events-route' });
  return async (req: Request, res: Response): Promise<void> => {
    const read = readEventsRequest(req);
    if (!read.ok) {
      sendProblem(res, read.problem, read.detail);
      return;
    }
    const { pattern } = read.request;
    const parsed = parseRequestBody(req, res, read.request, deps.bodyLimits);
    if (!parsed) return;
    if (parsed.items.length > deps.maxEventsPerRequest) {
      sendProblem(
        res,
        'payload-too-large',
        `At most ${deps.maxEventsPerRequest} events per request; split the batch.`,
      );
      return;
    }
    const source = typeof res.locals.source === 'string' ? res.locals.source : deps.defaultSource;
    const received: RequestMeta = {
      requestId: req.headers['x-request-id'] as string | undefined,
      ip: req.ip,
      userAgent: req.headers['user-agent'],
      traceparent: req.headers.traceparent as string | undefined,
    };
    const request = deps.sources?.request(source, received, req.headers) ?? {
      meta: received,
      anonymous: false,
    };
    // An anonymous request (GPC/DNT under its source's policy) neither reads nor sets the
    // visitor cookie: its events without a key are keyed by their own id.
    const visitor = request.anonymous ? null : new Visitor(req);
    const admitted = admit(parsed.items, {
      source,
      pattern,
      receivedAt: new Date(),
      meta: request.meta,
      defaultKey: visitor?.key,
      replyTo: pattern === 'request-response' ? deps.respond?.instance : undefined,
    });
    const { rejected } = admitted;
    if (rejected.length > 0)
      deps.metrics.eventsRejected.inc({ reason: 'invalid' }, rejected.length);
    if (admitted.envelopes.length === 0) {
      visitor?.setCookie(res);
      sendProblem(res, 'invalid-events', 'Fix the events listed in "errors" and send them again.', {
        errors: rejected,
      });
      return;
    }
    let envelopes = admitted.envelopes;
    if (deps.sources) {
      const quota = deps.sources.admit(source, envelopes.length);
      if (!quota.ok) {
        sendQuotaRefusal(res, source, envelopes.length, quota);
        return;
      }
      envelopes = deps.sources.apply(source, envelopes);
    }
    visitor?.setCookie(res);
    if (envelopes.length === 0) {
      // Every valid event was suppressed: accepted, and nothing to write.
      res.status(202).json({ accepted: [], rejected });
      return;
    }
    if (pattern === 'one-way') {
      if (!deps.oneWay) sendProblem(res, 'bad-request', 'This edge does not serve `ack=none`.');
      else respondOneWay(res, deps.oneWay, envelopes);
    } else if (pattern === 'request-response') {
      const respond = deps.respond;
      if (!respond) {
        sendProblem(res, 'bad-request', 'This edge does not serve `wait=processed`.');
        return;
      }
      // `timeout` (ms) lets a client wait less than the configured maximum, never more.
      const asked = read.request.timeoutMs;
      return respondWhenProcessed({
        deps: {
          ...respond,
          timeoutMs: asked ? Math.min(asked, respond.timeoutMs) : respond.timeoutMs,
        },
        res,
        events: envelopes,
        single: parsed.single,
        rejected,
        sink: deps.sink,
        log,
      });
    } else {
      return respondAcknowledged({
        res,
        sink: deps.sink,
        metrics: deps.metrics,
        log,
        events: envelopes,
        rejected,
        visitorId: visitor?.answeredId,
      });
    }
  };
}

/** The body's items, or null once a problem was answered. */
function parseRequestBody(
  req: Request,
  res: Response,
  { format, encodedLength }: EventsRequest,
  limits: BodyLimits,
): ParsedBody | null {
  try {
    return parseBody(req.body as Buffer, format, encodedLength, limits);
  } catch (err) {
    if (!(err instanceof BodyError)) throw err;
    sendProblem(res, err.problem, err.message);
    return null;
  }
}

/**
 * Before the body of `POST /v1/events` is read: 429 at once while the source could not
 * have even one more event admitted, so a flooding source costs the edge no body reads.
 */
export function quotaPrecheck(
  deps: Pick<EventsRouteDeps, 'sources' | 'defaultSource'>,
): RequestHandler {
  return (_req, res, next) => {
    const source = typeof res.locals.source === 'string' ? res.locals.source : deps.defaultSource;
    const decision = deps.sources?.precheck(source);
    if (decision && !decision.ok) sendQuotaRefusal(res, source, 1, decision);
    else next();
  };
}

/** 429 naming the quota that refused, with `Retry-After` when waiting can help. */
export function sendQuotaRefusal(
  res: Response,
  source: string,
  events: number,
  refusal: Exclude<QuotaDecision, { ok: true }>,
): void {
  sendProblem(
    res,
    'quota-exceeded',
    quotaRefusalDetail(source, events, refusal),
    { source, quota: refusal.quota, limit: refusal.limit },
    refusal.retryAfterSeconds ?? undefined,
  );
}

/** What a quota refusal says to do: wait, or split a batch no wait can admit. */
export function quotaRefusalDetail(
  source: string,
  events: number,
  refusal: Exclude<QuotaDecision, { ok: true }>,
): string {
  const wait = refusal.retryAfterSeconds;
  const unit = refusal.quota === 'per-second' ? 'events per second' : 'events per UTC day';
  return wait === null
    ? `${events} events are more than the ${refusal.quota} quota of source "${source}" (${refusal.limit} ${unit}) ever admits at once; split the batch.`
    : `Source "${source}" is over its ${refusal.quota} quota (${refusal.limit} ${unit}); retry after ${wait} s.`;
}
