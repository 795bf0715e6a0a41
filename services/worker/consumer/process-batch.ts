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
 * deduplicate.
 */
import type { ConsumedRecord, RecordHeaders } from '../../../lib/kafka/port';
import { isoNow } from '../../../lib/clock';
import { HEADER_ID, parseEnvelope } from '../../../lib/envelope';
import type { Envelope } from '../../../lib/envelope';
import type { TopicPartitions } from '../../../lib/kafka/partitioner';
import type { SideRecord, StepContext } from '../../../lib/pipeline';
import { dlqHeaders } from '../../../lib/records/dlq';
import { encodeRejection, rejectionKey } from '../../../lib/records/rejection';
import type { Pipeline, PipelineOutcome } from '../pipeline/pipeline';
import type { OutboundRecord, OutboundTopics } from '../outbound/record';
import type { Replier } from '../outbound/replier';
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
  topics: OutboundTopics;
  partitions: TopicPartitions;
  replier: Pick<Replier, 'dropped'>;
  /** The recently processed ids (deduplication of retried events); absent: off. */
  recentIds?: Pick<RecentIds, 'has' | 'enabled'>;
}

/** The reason given (in the reply of a request/response event) for a skipped duplicate. */
export const DUPLICATE_REASON = 'duplicate: an event with this id was processed recently';

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
  for (const message of input.messages) {
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
            deps.replier.dropped(
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
    let outcome: PipelineOutcome | Promise<PipelineOutcome> = deps.pipeline.run(envelope, ctx);
    if (outcome instanceof Promise) outcome = await outcome;
    if (outcome.kind === 'ok') {
      out.processed += 1;
      const event = outcome.event;
      const topic = deps.topics.processed;
      const record: OutboundRecord = {
        topic,
        partition: deps.partitions.partition(topic, event.key),
        key: event.key,
        value: Buffer.from(JSON.stringify(event)),
        headers: passedHeaders(message.headers, event.id),
        source,
        kind: 'processed',
      };
      if (replyTo) record.replyTo = replyTo;
      out.records.push(record);
      for (const s of side) {
        if (s.latestPerKey) {
          const at = `${s.output}\u0000${s.key}`;
          latest.delete(at); // Map order: the chunk's last occurrence of each key
          latest.set(at, { record: s, id: event.id, source });
          continue;
        }
        const value = Buffer.from(JSON.stringify(s.value));
        out.records.push(sideRecord(s.output, s.key, value, event.id, source, deps));
      }
    } else if (outcome.kind === 'dlq') {
      out.dlq += 1;
      const step = outcome.step ?? 'unknown';
      rejected(out.records, message, input.topic, source, step, outcome.reason, replyTo, deps);
    } else {
      out.dropped += 1;
      if (replyTo)
        out.records.push(deps.replier.dropped({ id: envelope.id, replyTo }, outcome, source));
    }
  }
  for (const { record: s, id, source } of latest.values()) {
    const value = Buffer.from(JSON.stringify(s.value));
    out.records.push(sideRecord(s.output, s.key, value, id, source, deps));
  }
  return out;
}

/** The input's headers as strings, with the event id. */
function passedHeaders(headers: RecordHeaders | undefined, id: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers) {
    for (const k in headers) {
      const v = headers[k];
      if (v === undefined) continue;
      out[k] = v.toString();
    }
  }
  out[HEADER_ID] = id;
  return out;
}

function sideRecord(
  output: string,
  key: string,
  value: Buffer,
  id: string,
  source: OutboundRecord['source'],
  deps: Pick<ProcessDeps, 'topics' | 'partitions'>,
): OutboundRecord {
  const topic = deps.topics.outputs[output];
  if (topic === undefined) throw new Error(`a step emitted to unknown output "${output}"`);
  return {
    topic,
    partition: deps.partitions.partition(topic, key),
    key,
    value,
    headers: { [HEADER_ID]: id },
    source,
    kind: 'side',
  };
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
  const id = message.headers?.[HEADER_ID]?.toString() ?? fallbackId;
  const key = message.key?.toString() ?? fallbackId;
  const topic = deps.topics.dlq;
  const headers = passedHeaders(message.headers, id);
  Object.assign(headers, dlqHeaders({ reason, step, at, source: { topic: rawTopic, ...source } }));
  const dead: OutboundRecord = {
    topic,
    partition: deps.partitions.partition(topic, key),
    key,
    value: message.value ?? Buffer.alloc(0),
    headers,
    source,
    kind: 'dlq',
  };
  if (replyTo) dead.replyTo = replyTo;
  records.push(dead);
  if (deps.topics.outputs.rejections === undefined) return;
  const value = Buffer.from(encodeRejection({ reason, step, at }));
  const position = rejectionKey(rawTopic, source.partition, source.offset);
  records.push(sideRecord('rejections', position, value, id, source, deps));
}
