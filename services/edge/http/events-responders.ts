/**
 * The answers of `POST /v1/events` once its events were admitted, one per mode (the
 * request/response one is `respondWhenProcessed` in respond.ts):
 *
 * - `respondAcknowledged`: `202` with each event's id and receipt, only after the sink
 *   made all of them durable (Kafka acks=all); else `503` / `500` (`sendStoreFailure`),
 *   never `202`.
 * - `respondOneWay`: the events go to the one-way queue; `204` at once.
 */
import type { Response } from 'express';
import type { Logger } from '../../../lib/logger';
import type { Admitted, Rejected } from '../ingest/admit';
import type { EdgeMetrics } from '../metrics';
import type { OneWayQueue } from '../one-way-queue';
import type { Sink, StoredEvent } from '../sink';
import type { Envelope } from '../../../lib/envelope';
import { encodeReceipt } from '../views/receipt';
import { sendStoreFailure } from './respond';

export interface AcknowledgedAnswer {
  res: Response;
  sink: Sink;
  metrics: EdgeMetrics;
  log: Logger;
  events: Admitted[];
  rejected: Rejected[];
  /** Returned when an event was keyed by the request's visitor. */
  visitorId?: string;
}

/**
 * Hands the events to the sink at once, then waits for their acknowledgement holding
 * only their indexes: the parsed events and envelopes are garbage while Kafka acks (the
 * sink keeps their serialised records), so they die young instead of filling the old
 * generation under load.
 */
export function respondAcknowledged(a: AcknowledgedAnswer): Promise<void> {
  const { events } = a;
  const indexes = new Array<number>(events.length);
  const envelopes = new Array<Envelope>(events.length);
  for (let i = 0; i < events.length; i++) {
    indexes[i] = events[i]!.index;
    envelopes[i] = events[i]!.envelope;
  }
  const stopTimer = a.metrics.ackSeconds.startTimer();
  return answerWhenStored({
    res: a.res,
    metrics: a.metrics,
    log: a.log,
    stored: a.sink.store(envelopes),
    stopTimer,
    indexes,
    rejected: a.rejected,
    visitorId: a.visitorId,
  });
}

async function answerWhenStored(w: {
  res: Response;
  metrics: EdgeMetrics;
  log: Logger;
  stored: Promise<StoredEvent[]>;
  stopTimer: () => void;
  indexes: number[];
  rejected: Rejected[];
  visitorId: string | undefined;
}): Promise<void> {
  const { res, metrics, indexes } = w;
  let stored;
  try {
    stored = await w.stored;
  } catch (err) {
    metrics.eventsRejected.inc({ reason: 'unavailable' }, indexes.length);
    sendStoreFailure(res, err, w.log);
    return;
  }
  w.stopTimer();
  metrics.eventsAccepted.inc(stored.length);
  const accepted = new Array<{ index: number; id: string; receipt: string }>(stored.length);
  for (let i = 0; i < stored.length; i++) {
    const s = stored[i]!;
    accepted[i] = { index: indexes[i]!, id: s.id, receipt: encodeReceipt(s.partition, s.offset) };
  }
  // NOTE: written directly (not `res.json`): express would also hash the body for an
  // ETag, which no client of a POST answer uses.
  const body = JSON.stringify(
    w.visitorId === undefined
      ? { accepted, rejected: w.rejected }
      : { accepted, rejected: w.rejected, visitorId: w.visitorId },
  );
  res.statusCode = 202;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

export function respondOneWay(res: Response, queue: OneWayQueue, events: Admitted[]): void {
  queue.enqueue(events.map((e) => e.envelope));
  res.status(204).end();
}
