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
import type { Sink } from '../sink';
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

export async function respondAcknowledged(a: AcknowledgedAnswer): Promise<void> {
  const { res, events, metrics } = a;
  const stopTimer = metrics.ackSeconds.startTimer();
  let stored;
  try {
    stored = await a.sink.store(events.map((e) => e.envelope));
  } catch (err) {
    metrics.eventsRejected.inc({ reason: 'unavailable' }, events.length);
    sendStoreFailure(res, err, a.log);
    return;
  }
  stopTimer();
  metrics.eventsAccepted.inc(stored.length);
  const accepted = new Array<{ index: number; id: string; receipt: string }>(stored.length);
  for (let i = 0; i < stored.length; i++) {
    const s = stored[i]!;
    accepted[i] = {
      index: events[i]!.index,
      id: s.id,
      receipt: encodeReceipt(s.partition, s.offset),
    };
  }
  // NOTE: written directly (not `res.json`): express would also hash the body for an
  // ETag, which no client of a POST answer uses.
  const body = JSON.stringify(
    a.visitorId === undefined
      ? { accepted, rejected: a.rejected }
      : { accepted, rejected: a.rejected, visitorId: a.visitorId },
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
