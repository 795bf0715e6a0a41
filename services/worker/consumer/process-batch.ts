/**
 * Turns a chunk of input records into the outbound records the worker must deliver:
 * processed events to the processed topic, rejected ones to the DLQ with the reason, the
 * failing step, the source position and the time in headers (and the reason to the
 * rejections output, so any edge can answer the receipt), side outputs of the steps (e.g.
 * scores), and the reply of a dropped request/response event. Each value is serialised
 * once, here. A side record marked `latestPerKey` (a changelog such as scores) is kept
 * only as its key's last in the chunk, and added after the chunk's other records: a
 * compacted topic keeps no more, and a chunk of a busy visitor's events costs one record.
 * Every outbound record keeps the event's `id` (header and value) so consumers can
 * deduplicate. The records themselves are built by the output registry (`outputs.ts`).
 *
 * A chunk holds the event loop for at most about `YIELD_AFTER_MS` at a time (then it lets
 * other work run: the sender's acknowledgements and next request, other partitions'
 * commits, heartbeats), so a large chunk does not stall the rest of the worker.
 */
import { setImmediate } from 'node:timers/promises';
import type { ConsumedRecord } from '../../../lib/kafka/port';
import { isoNow } from '../../../lib/clock';
import { parseEnvelope } from '../../../lib/envelope';
import type { Envelope } from '../../../lib/envelope';
import type { RawEnvelope } from '../../../lib/records/processed';
import type { SideRecord, StepContext } from '../../../lib/pipeline';
import { HEADER_ID, headerString } from '../../../lib/records/headers';
import type { Pipeline, PipelineOutcome } from '../pipeline/pipeline';
import type { Outputs } from '../outbound/outputs';
import type { OutboundRecord } from '../outbound/record';
import { droppedReply } from '../outbound/replier';
import type { RecentIds } from './recent-ids';

export interface BatchOutcome {
  records: OutboundRecord[];
  processed: number;
  dlq: number;
  dropped: number;
  /** Events skipped because their id was processed within the deduplication window. */
  duplicates: number;
  /** The ids of the chunk's events and their timestamps (when deduplicating), for the window once committed. */
  ids: { id: string; at: number }[];
}

export interface ProcessDeps {
  pipeline: Pipeline;
  outputs: Outputs;
  /** The recently processed ids (deduplication of retried events); absent: off. */
  recentIds?: Pick<RecentIds, 'has' | 'enabled'>;
}

/** The reason given (in the reply of a request/response event) for a skipped duplicate. */
export const DUPLICATE_REASON = 'duplicate: an event with this id was processed recently';

/** The longest run of a chunk's processing between two turns of the event loop (ms). */
export const YIELD_AFTER_MS = 10;

export async function processBatch(
  input: { topic: string; partition: number; messages: readonly ConsumedRecord[] },
  deps: ProcessDeps,
): Promise<BatchOutcome> {
  const out: BatchOutcome = {
    records: [],
    processed: 0,
    dlq: 0,
    dropped: 0,
    duplicates: 0,
    ids: [],
  };
  const recentIds = deps.recentIds?.enabled ? deps.recentIds : undefined;
  const { adds } = deps.pipeline;
  const inChunk = new Set<string>();
  const side: SideRecord[] = [];
  /** The last `latestPerKey` side record per output and key, with the event it came from. */
  const latest = new Map<
    string,
    { record: SideRecord; id: string; source: OutboundRecord['source'] }
  >();
  const ctx: StepContext = {
    topic: input.topic,
    partition: input.partition,
    offset: '',
    emit: (record) => side.push(record),
  };
  let yieldAt = performance.now() + YIELD_AFTER_MS;
  for (const message of input.messages) {
    if (performance.now() >= yieldAt) {
      await setImmediate();
      yieldAt = performance.now() + YIELD_AFTER_MS;
    }
    ctx.offset = message.offset;
    side.length = 0;
    const source = { partition: input.partition, offset: message.offset };
    let envelope: Envelope;
    try {
      envelope = parseEnvelope(message.value);
    } catch (err) {
      out.dlq += 1;
      rejected(
        out.records,
        message,
        input.topic,
        source,
        'parse',
        (err as Error).message,
        undefined,
        deps,
      );
      continue;
    }
    const replyTo = envelope.pattern === 'request-response' ? envelope.replyTo : undefined;
    if (recentIds) {
      const at = Number(message.timestamp);
      if (inChunk.has(envelope.id) || recentIds.has(input.partition, envelope.id, at)) {
        out.duplicates += 1;
        if (replyTo)
          out.records.push(
            droppedReply(
              deps.outputs,
              { id: envelope.id, replyTo },
              { reason: DUPLICATE_REASON },
              source,
            ),
          );
        continue;
      }
      inChunk.add(envelope.id);
      out.ids.push({ id: envelope.id, at });
    }
    // Written over its raw text when the steps only add declared fields the raw lacks.
    const raw: RawEnvelope | undefined =
      adds !== null && message.value !== null && !hasAny(envelope, adds)
        ? { value: message.value, adds }
        : undefined;
    let outcome: PipelineOutcome | Promise<PipelineOutcome> = deps.pipeline.run(envelope, ctx);
    if (outcome instanceof Promise) outcome = await outcome;
    if (outcome.kind === 'ok') {
      out.processed += 1;
      const event = outcome.event;
      const origin = { id: event.id, source, replyTo };
      out.records.push(deps.outputs.processed(event, origin, message.headers, raw));
      for (const s of side) {
        if (s.latestPerKey) {
          const at = `${s.output}\u0000${s.key}`;
          latest.delete(at); // Map order: the chunk's last occurrence of each key
          latest.set(at, { record: s, id: event.id, source });
          continue;
        }
        out.records.push(deps.outputs.emitted(s, { id: event.id, source }));
      }
    } else if (outcome.kind === 'dlq') {
      out.dlq += 1;
      const step = outcome.step ?? 'unknown';
      rejected(out.records, message, input.topic, source, step, outcome.reason, replyTo, deps);
    } else {
      out.dropped += 1;
      if (replyTo)
        out.records.push(droppedReply(deps.outputs, { id: envelope.id, replyTo }, outcome, source));
    }
  }
  for (const { record: s, id, source } of latest.values()) {
    out.records.push(deps.outputs.emitted(s, { id, source }));
  }
  return out;
}

/**
 * A rejected record: the dead letter (value and headers kept, the reason added), and
 * (when the `rejections` output is configured) the reason keyed by the raw position.
 */
function rejected(
  records: OutboundRecord[],
  message: ConsumedRecord,
  rawTopic: string,
  source: OutboundRecord['source'],
  step: string,
  reason: string,
  replyTo: string | undefined,
  deps: ProcessDeps,
): void {
  const at = isoNow();
  const fallbackId = `${rawTopic}-${source.partition}-${source.offset}`;
  const id = headerString(message.headers, HEADER_ID) ?? fallbackId;
  const raw = {
    key: message.key?.toString() ?? fallbackId,
    value: message.value ?? Buffer.alloc(0),
  };
  const dead = { reason, step, at, source: { topic: rawTopic, ...source } };
  records.push(deps.outputs.deadLetter(raw, { id, source, replyTo }, dead, message.headers));
  const rejection = deps.outputs.rejection(
    { topic: rawTopic, source, rejection: { reason, step, at } },
    { id, source },
  );
  if (rejection) records.push(rejection);
}

function hasAny(envelope: Envelope, fields: readonly string[]): boolean {
  for (const f of fields) if (Object.prototype.hasOwnProperty.call(envelope, f)) return true;
  return false;
}
