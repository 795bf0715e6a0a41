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
import type { ReplyWaiter } from '../replies/reply-waiter';
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

export async function respondWhenProcessed(
  deps: RespondDeps,
  res: Response,
  envelope: Envelope,
  sink: Sink,
  log: Logger,
): Promise<void> {
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
  let reply;
  let receipt: string;
  try {
    const waiting = deps.replies.expect(envelope.id, deps.timeoutMs);
    try {
      const [stored] = await sink.store([envelope]);
      receipt = encodeReceipt(stored!.partition, stored!.offset);
    } catch (err) {
      deps.replies.cancel(envelope.id);
      await waiting;
      throw err;
    }
    reply = await waiting;
  } catch (err) {
    sendStoreFailure(res, err, log);
    return;
  }
  if (!reply) {
    sendProblem(
      res,
      'processing-timeout',
      `The event is durable but was not processed within ${deps.timeoutMs} ms; follow it with its receipt.`,
      { id: envelope.id, receipt },
    );
    return;
  }
  if (reply.outcome === 'rejected') {
    sendProblem(res, 'rejected-by-rules', reply.reason ?? 'rejected', {
      id: envelope.id,
      receipt,
      step: reply.step,
      position: reply.position,
    });
    return;
  }
  res.status(200).json({
    id: envelope.id,
    receipt,
    outcome: reply.outcome,
    result: reply.result ?? null,
    position: reply.position ?? null,
    reason: reply.reason,
  });
}
