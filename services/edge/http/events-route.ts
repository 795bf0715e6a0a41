/**
 * `POST /v1/events` (request/acknowledge): one JSON event or a JSON array of events.
 * Each valid event is wrapped in the envelope and stored through the sink; the answer is
 * `202` only after the sink made every accepted event durable (Kafka acks=all). Invalid
 * items are listed under `rejected` by index while the valid ones are accepted; when no
 * item is valid the answer is `422`. When the sink cannot make the events durable in
 * time, the answer is `503` with `Retry-After`, never `202`.
 */
import type { Request, RequestHandler, Response } from 'express';
import { wrapEvent } from '../../../lib/envelope';
import type { Envelope } from '../../../lib/envelope';
import type { Logger } from '../../../lib/logger';
import type { EdgeMetrics } from '../metrics';
import type { Sink } from '../sink';
import { encodeReceipt } from '../views/receipt';
import { respondWhenProcessed, sendStoreFailure } from './respond';
import type { RespondDeps } from './respond';
import { sendProblem } from './send-problem';

export interface EventsRouteDeps {
  sink: Sink;
  logger: Logger;
  metrics: EdgeMetrics;
  defaultSource: string;
  maxEventsPerRequest: number;
  /** Request/response (`?wait=processed`); absent: answered 501. */
  respond?: RespondDeps;
}

interface Rejected {
  index: number;
  reason: string;
}

export function eventsRoute(deps: EventsRouteDeps): RequestHandler {
  const log = deps.logger.child({ module: 'events-route' });
  return async (req: Request, res: Response): Promise<void> => {
    if (!req.is('application/json')) {
      sendProblem(
        res,
        'unsupported-media-type',
        'Send events as application/json (one object or an array).',
      );
      return;
    }
    const body: unknown = req.body;
    const items: unknown[] = Array.isArray(body) ? body : [body];
    if (items.length === 0) {
      sendProblem(res, 'bad-request', 'The array holds no event; send at least one.');
      return;
    }
    if (items.length > deps.maxEventsPerRequest) {
      sendProblem(
        res,
        'payload-too-large',
        `At most ${deps.maxEventsPerRequest} events per request; split the batch.`,
      );
      return;
    }
    const waitProcessed = req.query.wait === 'processed';
    if (waitProcessed && Array.isArray(body)) {
      sendProblem(
        res,
        'bad-request',
        '`wait=processed` takes one event per request (a JSON object), not an array.',
      );
      return;
    }
    const receivedAt = new Date();
    const meta = {
      requestId: req.get('x-request-id'),
      ip: req.ip,
      userAgent: req.get('user-agent'),
      traceparent: req.get('traceparent'),
    };
    const envelopes: { index: number; envelope: Envelope }[] = [];
    const rejected: Rejected[] = [];
    items.forEach((item, index) => {
      const result = wrapEvent(item, {
        source: deps.defaultSource,
        pattern: waitProcessed ? 'request-response' : 'request-ack',
        receivedAt,
        meta,
        replyTo: waitProcessed ? deps.respond?.instance : undefined,
      });
      if (result.ok) envelopes.push({ index, envelope: result.envelope });
      else rejected.push({ index, reason: result.reason });
    });
    deps.metrics.eventsRejected.inc({ reason: 'invalid' }, rejected.length);
    if (envelopes.length === 0) {
      sendProblem(res, 'invalid-events', 'Fix the events listed in "errors" and send them again.', {
        errors: rejected,
      });
      return;
    }
    if (waitProcessed) {
      if (!deps.respond) {
        sendProblem(res, 'bad-request', 'This edge does not serve `wait=processed`.');
        return;
      }
      await respondWhenProcessed(deps.respond, res, envelopes[0]!.envelope, deps.sink, log);
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
      });
    } catch (err) {
      deps.metrics.eventsRejected.inc({ reason: 'unavailable' }, envelopes.length);
      sendStoreFailure(res, err, log);
    }
  };
}
