/**
 * Answers for the two ways an edge can reply once it tried to store events:
 * - `sendStoreFailure`: the events could not be made durable: 503 with Retry-After
 *   (retriable: Kafka did not acknowledge in time, or the edge is over its bound), or 500;
 *   never 2xx.
 * - `respondWhenProcessed` (request/response, `?wait=processed`): waits for the worker's
 *   reply (see replies/reply-waiter.ts): 200 with the processed result and its downstream
 *   position; 422 when the business rules rejected it (it is in the DLQ); 200 with
 *   `outcome: "dropped"` when a step filtered it out; 504 after the timeout, with the
 *   receipt: the event is durable and will be processed.
 */
import type { Response } from 'express';
import { IntakeError, isRetriable } from '../../../lib/errors';
import type { Envelope } from '../../../lib/envelope';
import type { Logger } from '../../../lib/logger';
import type { Reply } from '../../../lib/records/reply';
import type { ReplyWaiter } from '../replies/reply-waiter';
import type { Admitted, Rejected } from '../ingest/admit';
import type { Sink } from '../sink';
import { encodeReceipt } from '../views/receipt';
import { sendProblem } from './send-problem';

export interface RespondDeps {
  instance: string;
  replies: Pick<ReplyWaiter, 'isRunning' | 'expect' | 'cancel'>;
  timeoutMs: number;
}

export function sendStoreFailure(res: Response, err: unknown, log: Logger): void {
  if (isRetriable(err)) {
    const retryAfter = err instanceof IntakeError ? (err.retryAfterSeconds ?? 1) : 1;
    const overloaded = err instanceof IntakeError && err.code === 'OVERLOADED';
    sendProblem(
      res,
      overloaded ? 'overloaded' : 'kafka-unavailable',
      `None of these events was accepted; retry the same request (same ids) after ${retryAfter} s.`,
      {},
      retryAfter,
    );
    return;
  }
  log.error({ err }, 'store_failed');
  sendProblem(res, 'internal-error', 'The events could not be stored; they were not accepted.');
}

/** Stores the events and waits for each one's reply (null: timed out). */
async function storeAndWait(
  deps: RespondDeps,
  envelopes: Envelope[],
  sink: Sink,
): Promise<{ receipts: string[]; replies: (Reply | null)[] }> {
  const waiting: Promise<Reply | null>[] = [];
  try {
    for (const e of envelopes) waiting.push(deps.replies.expect(e.id, deps.timeoutMs));
    const stored = await sink.store(envelopes);
    return {
      receipts: stored.map((s) => encodeReceipt(s.partition, s.offset)),
      replies: await Promise.all(waiting),
    };
  } catch (err) {
    for (const e of envelopes) deps.replies.cancel(e.id);
    await Promise.all(waiting);
    throw err;
  }
}

const TIMEOUT_DETAIL = (ms: number): string =>
  `The event is durable but was not processed within ${ms} ms; follow it with its receipt.`;

export interface ProcessedAnswer {
  deps: RespondDeps;
  res: Response;
  /** The admitted events, with their index in the request. */
  events: Admitted[];
  /** True when the body was one JSON object (not an array or NDJSON). */
  single: boolean;
  /** The request's items that were not events. */
  rejected: Rejected[];
  sink: Sink;
  log: Logger;
}

/**
 * One event: 200 / 422 / 504 as above. Several (a JSON array or NDJSON): 200 with one
 * result per event (`outcome`: processed, dropped, rejected or timeout) and the items
 * that were not events under `rejected`.
 */
export async function respondWhenProcessed(answer: ProcessedAnswer): Promise<void> {
  const { deps, res, events, single, rejected, sink, log } = answer;
  if (!deps.replies.isRunning) {
    sendProblem(
      res,
      'kafka-unavailable',
      'This edge is not yet following replies; retry shortly.',
      {},
      1,
    );
    return;
  }
  let outcome;
  try {
    outcome = await storeAndWait(
      deps,
      events.map((e) => e.envelope),
      sink,
    );
  } catch (err) {
    sendStoreFailure(res, err, log);
    return;
  }
  const results = events.map(({ index, envelope }, i) => {
    const reply = outcome.replies[i];
    const base = { index, id: envelope.id, receipt: outcome.receipts[i]! };
    if (!reply)
      return { ...base, outcome: 'timeout' as const, reason: TIMEOUT_DETAIL(deps.timeoutMs) };
    return {
      ...base,
      outcome: reply.outcome,
      result: reply.result,
      position: reply.position,
      reason: reply.reason,
      step: reply.step,
    };
  });
  if (!single) {
    res.status(200).json({ results, rejected });
    return;
  }
  const [first] = results;
  if (first!.outcome === 'timeout') {
    sendProblem(res, 'processing-timeout', TIMEOUT_DETAIL(deps.timeoutMs), {
      id: first!.id,
      receipt: first!.receipt,
    });
  } else if (first!.outcome === 'rejected') {
    const { id, receipt, step, position } = first!;
    sendProblem(res, 'rejected-by-rules', first!.reason ?? 'rejected', {
      id,
      receipt,
      step,
      position,
    });
  } else {
    const { id, receipt, outcome: o, result, position, reason } = first!;
    res.status(200).json({
      id,
      receipt,
      outcome: o,
      result: result ?? null,
      position: position ?? null,
      reason,
    });
  }
}
