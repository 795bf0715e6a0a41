/**
 * The processing thread's entry (`thread-processing.ts` starts it): builds the pipeline
 * from the settings it is given, answers the consumer's thread in the order it calls.
 * A chunk's ids wait here until the consumer's thread says its hand-off is committed
 * (at most one chunk per partition waits: the next one of a partition means the one
 * before was abandoned).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../../../lib/logger';
import type { BatchOutcome } from '../consumer/process-batch';
import { packOutcome, transferOf, unpackRecords } from './chunk-codec';
import { buildLocalProcessing } from './local-processing';
import type { ProcessingSettings } from './local-processing';
import { toWire } from './thread-protocol';
import type { Answer, Call } from './thread-protocol';

const port = parentPort;
if (!port) throw new Error('processing-thread.js runs as a worker thread only');
const settings = workerData as ProcessingSettings;
const logger = createLogger('worker').child({ instance: settings.instance, thread: 'processing' });
const local = buildLocalProcessing(settings, logger);
const waiting = new Map<number, { chunk: number; ids: BatchOutcome['ids'] }>();

const answer = (message: Answer, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(message, transfer);

function settle(seq: number, work: () => unknown): void {
  Promise.resolve()
    .then(work)
    .then(
      (value) => answer({ seq, ok: true, value }),
      (err: unknown) => answer({ seq, ok: false, error: toWire(err) }),
    );
}

port.on('message', (call: Call) => {
  switch (call.op) {
    case 'process': {
      const { seq, topic, partition } = call;
      local.process({ topic, partition, messages: unpackRecords(call.packed) }).then(
        (outcome) => {
          waiting.set(partition, { chunk: seq, ids: outcome.ids });
          const packed = packOutcome(outcome);
          answer({ seq, ok: true, packed }, transferOf(packed));
        },
        (err: unknown) => answer({ seq, ok: false, error: toWire(err) }),
      );
      return;
    }
    case 'committed': {
      const chunk = waiting.get(call.partition);
      if (chunk?.chunk !== call.chunk) return;
      waiting.delete(call.partition);
      local.ids.add(call.partition, chunk.ids);
      return;
    }
    case 'addIds':
      local.ids.add(call.partition, call.entries);
      return;
    case 'forget':
      if (call.state === 'scores') local.scores?.forget(call.partition);
      else {
        waiting.delete(call.partition);
        local.ids.forget(call.partition);
      }
      return;
    case 'restoreScores':
      settle(call.seq, () => local.scores?.restore(call.partition, call.records) ?? 0);
      return;
    case 'restoreIds':
      settle(call.seq, () => local.ids.restore(call.partition, call.entries, call.now));
      return;
    case 'drop':
      settle(call.seq, () => local.scores?.drop(call.visitorId) ?? false);
      return;
    case 'size':
      settle(call.seq, () => local.ids.size(call.partition));
      return;
  }
});
answer({ seq: 0, ready: { scores: local.scores !== null, dedup: local.ids.enabled } });
