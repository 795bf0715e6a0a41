/**
 * `POST /v1/events`: one JSON event, a JSON array of events, or NDJSON (one per line);
 * gzip or deflate encoded or not. Three answers, chosen by the query:
 *
 * - request/acknowledge (default): every valid event is wrapped in the envelope and
 *   stored; `202` only after the sink made every accepted event durable (Kafka acks=all),
 *   with each one's `id` and `receipt`. Invalid items are listed under `rejected` by index
 *   while the valid ones are accepted; when no item is valid, `422`. When the events
 *   cannot be made durable in time, `503` with `Retry-After`, never `202`.
 * - `?wait=processed` (request/response): see `respond.ts`; it wins over `ack=none`.
 * - `?ack=none` (one-way): `204` at once; the events are queued for a background send and
 *   may be lost in a crash or dropped when the queue is full (both counted).
 *
 * Visitor ids: an event without `key` / `visitorId` / `deviceId` is keyed by the
 * request's visitor id: the `intake_vid` cookie, or a new UUIDv7 that the answer returns
 * (`visitorId` in the body and a cookie), so a visitor's later events land on the same
 * partition.
 */
import type { Request, RequestHandler, Response } from 'express';
import { wrapEvent } from '../../../lib/envelope';
import type { Envelope, Pattern } from '../../../lib/envelope';
import type { Logger } from '../../../lib/logger';
import { uuidv7 } from '../../../lib/uuid7';
import type { EdgeMetrics } from '../metrics';
import type { OneWayQueue } from '../one-way-queue';
import type { Sink } from '../sink';
import { encodeReceipt } from '../views/receipt';
import { BodyError, parseBody } from './body';
import type { BodyLimits } from './body';
import { respondWhenProcessed, sendStoreFailure } from './respond';
import type { RespondDeps } from './respond';
import { sendProblem } from './send-problem';

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
}

interface Rejected {
  index: number;
  reason: string;
}

export const VISITOR_COOKIE = 'intake_vid';
const VISITOR_COOKIE_MAX_AGE = 2 * 365 * 24 * 3600;
const VISITOR_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function eventsRoute(deps: EventsRouteDeps): RequestHandler {
  const log = deps.logger.child({ module: 'events-route' });
  return async (req: Request, res: Response): Promise<void> => {
    const kind = req.is('application/json')
      ? 'json'
      : req.is('application/x-ndjson')
        ? 'ndjson'
        : null;
    if (!kind || !Buffer.isBuffer(req.body)) {
      sendProblem(
        res,
        'unsupported-media-type',
        'Send events as application/json (an object or an array) or application/x-ndjson.',
      );
      return;
    }
    const charset = /charset=([^;]+)/i
      .exec(req.get('content-type') ?? '')?.[1]
      ?.trim()
      .toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      sendProblem(
        res,
        'unsupported-media-type',
        `Events must be UTF-8, not ${charset.slice(0, 32)}.`,
      );
      return;
    }
    const { wait, ack, timeout } = req.query;
    const badTimeout =
      timeout !== undefined && !(typeof timeout === 'string' && /^[1-9][0-9]{0,8}$/.test(timeout));
    if (
      (wait !== undefined && wait !== 'processed') ||
      (ack !== undefined && ack !== 'none') ||
      badTimeout
    ) {
      sendProblem(
        res,
        'bad-request',
        'Unknown query: use `wait=processed` (request/response, optionally `timeout=<ms>`) or `ack=none` (one-way).',
      );
      return;
    }
    const pattern: Pattern =
      req.query.wait === 'processed'
        ? 'request-response'
        : req.query.ack === 'none'
          ? 'one-way'
          : 'request-ack';
    let parsed;
    try {
      const encoded =
        req.get('content-encoding') && req.get('content-length')
          ? Number(req.get('content-length'))
          : null;
      parsed = parseBody(req.body, kind, encoded, deps.bodyLimits);
    } catch (err) {
      if (!(err instanceof BodyError)) throw err;
      sendProblem(res, err.problem, err.message);
      return;
    }
    if (parsed.items.length > deps.maxEventsPerRequest) {
      sendProblem(
        res,
        'payload-too-large',
        `At most ${deps.maxEventsPerRequest} events per request; split the batch.`,
      );
      return;
    }
    const visitor = visitorOf(req);
    const receivedAt = new Date();
    const meta = {
      requestId: req.get('x-request-id'),
      ip: req.ip,
      userAgent: req.get('user-agent'),
      traceparent: req.get('traceparent'),
    };
    const source = typeof res.locals.source === 'string' ? res.locals.source : deps.defaultSource;
    const envelopes: { index: number; envelope: Envelope }[] = [];
    const rejected: Rejected[] = [];
    let usedVisitor = false;
    parsed.items.forEach((item, index) => {
      if (!item.ok) {
        rejected.push({ index, reason: item.reason });
        return;
      }
      const result = wrapEvent(item.value, {
        source,
        pattern,
        receivedAt,
        meta,
        defaultKey: () => {
          usedVisitor = true;
          return visitor.id;
        },
        replyTo: pattern === 'request-response' ? deps.respond?.instance : undefined,
      });
      if (!result.ok) {
        rejected.push({ index, reason: result.reason });
        return;
      }
      envelopes.push({ index, envelope: result.envelope });
    });
    deps.metrics.eventsRejected.inc({ reason: 'invalid' }, rejected.length);
    if (usedVisitor && visitor.fresh) {
      res.cookie(VISITOR_COOKIE, visitor.id, {
        maxAge: VISITOR_COOKIE_MAX_AGE * 1000,
        httpOnly: true,
        sameSite: 'lax',
        path: '/',
      });
    }
    if (envelopes.length === 0) {
      sendProblem(res, 'invalid-events', 'Fix the events listed in "errors" and send them again.', {
        errors: rejected,
      });
      return;
    }
    if (pattern === 'one-way') {
      if (!deps.oneWay) {
        sendProblem(res, 'bad-request', 'This edge does not serve `ack=none`.');
        return;
      }
      deps.oneWay.enqueue(envelopes.map((e) => e.envelope));
      res.status(204).end();
      return;
    }
    if (pattern === 'request-response') {
      if (!deps.respond) {
        sendProblem(res, 'bad-request', 'This edge does not serve `wait=processed`.');
        return;
      }
      // `timeout` (ms) lets a client wait less than the configured maximum, never more.
      const asked = Number(req.query.timeout);
      const timeoutMs =
        Number.isInteger(asked) && asked > 0
          ? Math.min(asked, deps.respond.timeoutMs)
          : deps.respond.timeoutMs;
      await respondWhenProcessed(
        { ...deps.respond, timeoutMs },
        res,
        envelopes,
        parsed.single,
        rejected,
        deps.sink,
        log,
      );
      return;
    }
    const stopTimer = deps.metrics.ackSeconds.startTimer();
    try {
      const stored = await deps.sink.store(envelopes.map((e) => e.envelope));
      stopTimer();
      deps.metrics.eventsAccepted.inc(stored.length);
      res.status(202).json({
        accepted: stored.map((s, i) => ({
          index: envelopes[i]!.index,
          id: s.id,
          receipt: encodeReceipt(s.partition, s.offset),
        })),
        rejected,
        ...(usedVisitor ? { visitorId: visitor.id } : {}),
      });
    } catch (err) {
      deps.metrics.eventsRejected.inc({ reason: 'unavailable' }, envelopes.length);
      sendStoreFailure(res, err, log);
    }
  };
}

const COOKIE = new RegExp(`(?:^|;\\s*)${VISITOR_COOKIE}=([^;]+)`);

/** The request's visitor: from the cookie, or a new id made only if an event needs it. */
function visitorOf(req: Request): { readonly id: string; fresh: boolean } {
  const fromCookie = COOKIE.exec(req.get('cookie') ?? '')?.[1];
  if (fromCookie && VISITOR_ID.test(fromCookie)) return { id: fromCookie, fresh: false };
  let id: string | undefined;
  return {
    get id() {
      return (id ??= uuidv7());
    },
    fresh: true,
  };
}
