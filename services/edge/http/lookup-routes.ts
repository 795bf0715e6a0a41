/**
 * Look-ups that any edge answers from views of compacted topics (no per-event state):
 * - `GET /v1/receipts/:receipt`: `queued`, `processed` or `delivered`, from the workers'
 *   published delivery progress per raw partition, or `rejected` with the reason when the
 *   compacted rejections topic names the event's position;
 * - `GET /v1/visitors/:id/score`: the visitor's purchase-propensity score, from the
 *   compacted scores topic (request/acknowledge's "use the id later" case).
 * While a view has not caught up with its topic, the answer is 503 with Retry-After.
 */
import type { RequestHandler, Response } from 'express';
import type { TopicView } from '../../../lib/kafka/topic-view';
import type { ProgressRecord } from '../../../lib/records/progress';
import { rejectionKey } from '../../../lib/records/rejection';
import type { Rejection } from '../../../lib/records/rejection';
import type { ScoreRecord } from '../../../lib/records/score';
import { decodeReceipt, receiptStatus } from '../views/receipt';
import { sendProblem } from './send-problem';

type View<T> = Pick<TopicView<T>, 'isCaughtUp' | 'get'>;

export interface LookupDeps {
  rawTopic: string;
  progress: View<ProgressRecord>;
  scores: View<ScoreRecord>;
  /** Absent: receipts never say `rejected`. */
  rejections?: View<Rejection>;
}

function sendNotReady(res: Response, what: string): void {
  sendProblem(
    res,
    'kafka-unavailable',
    `This edge is still reading ${what} from Kafka; retry shortly.`,
    {},
    1,
  );
}

export function receiptRoute(deps: LookupDeps): RequestHandler {
  return (req, res) => {
    const receipt = String(req.params.receipt ?? '');
    const position = decodeReceipt(receipt);
    if (!position) {
      sendProblem(
        res,
        'not-found',
        'This is not a receipt issued by Intake; use the `receipt` of a 202 answer.',
      );
      return;
    }
    if (!deps.progress.isCaughtUp) {
      sendNotReady(res, 'delivery progress');
      return;
    }
    const progress = deps.progress.get(`${deps.rawTopic}/${position.partition}`);
    const status = receiptStatus(position, progress);
    const rejection =
      status === 'queued'
        ? undefined
        : deps.rejections?.get(rejectionKey(deps.rawTopic, position.partition, position.offset));
    res.json({
      receipt,
      status: rejection ? 'rejected' : status,
      ...(rejection ? { reason: rejection.reason, step: rejection.step } : {}),
      partition: position.partition,
      offset: position.offset.toString(),
      progress: progress
        ? {
            committedNext: progress.committedNext,
            deliveredUpTo: progress.deliveredUpTo,
            at: progress.at,
          }
        : null,
    });
  };
}

export function scoreRoute(deps: LookupDeps): RequestHandler {
  return (req, res) => {
    const visitorId = String(req.params.id ?? '');
    if (!deps.scores.isCaughtUp) {
      sendNotReady(res, 'scores');
      return;
    }
    const record = deps.scores.get(visitorId);
    if (!record) {
      sendProblem(
        res,
        'not-found',
        `No score yet for visitor "${visitorId.slice(0, 128)}": it has sent no scored event (page_view, product_view, add_to_cart, checkout).`,
      );
      return;
    }
    res.json({ ...record, visitorId });
  };
}
