import type { ConsumedRecord } from '../../../lib/kafka/port';
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { drop, dlq, ok } from '../../../lib/pipeline';
import type { Step } from '../../../lib/pipeline';
import { readDlqHeaders } from '../../../lib/records/dlq';
import { parseRejection } from '../../../lib/records/rejection';
import { parseReply } from '../../../lib/records/reply';
import {
  DUPLICATE_REASON,
  YIELD_AFTER_MS,
  processBatch,
} from '../../../services/worker/consumer/process-batch';
import { RecentIds } from '../../../services/worker/consumer/recent-ids';
import { Outputs } from '../../../services/worker/outbound/outputs';
import type { OutputTopics } from '../../../services/worker/outbound/outputs';
import { rawMessage } from '../../support/raw-message';
import { Pipeline } from '../../../services/worker/pipeline/pipeline';
import { passThroughStep } from '../../../services/worker/pipeline/steps/pass-through-step';

const topics = { processed: 'out', dlq: 'dead', replies: 'replies' };
const partitions = new TopicPartitions();
partitions.set('out', 4);
partitions.set('dead', 2);
partitions.set('replies', 3);
partitions.set('rejections', 2);
const deps = (pipeline: Pipeline, more: Partial<OutputTopics> = {}) => {
  return { pipeline, outputs: new Outputs({ ...topics, ...more }, partitions) };
};

const routeByType: Step = {
  name: 'route-by-type',
  run: (event) =>
    event.type === 'bad' ? dlq('bad type') : event.type === 'noise' ? drop('noise') : ok(event),
};

describe('processBatch', () => {
  it('sends ok events to the processed topic keyed and partitioned by their key, with the same id', async () => {
    const pipeline = new Pipeline([passThroughStep('w1')]);
    const out = await processBatch(
      { topic: 'raw', partition: 0, messages: [rawMessage({ id: 'e1', type: 't', key: 'v9' }, 0)] },
      deps(pipeline),
    );
    expect(out.processed).toBe(1);
    const [rec] = out.records;
    expect(rec?.topic).toBe('out');
    expect(rec?.outcome.kind).toBe('processed');
    expect(rec?.key).toBe('v9');
    expect(rec?.partition).toBe(partitions.partition('out', 'v9'));
    expect(rec?.headers['intake-id']).toBe('e1');
    expect(rec?.headers['intake-source']).toBe('s');
    expect(rec?.source).toEqual({ partition: 0, offset: '0' });
    expect(rec?.replyTo).toBeUndefined();
    expect(JSON.parse(rec!.value.toString())).toMatchObject({ id: 'e1', processedBy: 'w1' });
  });

  it('routes dlq results with the reason, step and source position in headers, and counts drops', async () => {
    const pipeline = new Pipeline([routeByType]);
    const out = await processBatch(
      {
        topic: 'raw',
        partition: 3,
        messages: [
          rawMessage({ type: 'bad' }, 10),
          rawMessage({ type: 'noise' }, 11),
          rawMessage({ type: 'fine' }, 12),
        ],
      },
      deps(pipeline, { rejections: 'rejections' }),
    );
    expect(out).toMatchObject({ processed: 1, dlq: 1, dropped: 1 });
    const dead = out.records.find((o) => o.outcome.kind === 'dlq');
    expect(dead?.topic).toBe('dead');
    expect(readDlqHeaders(dead?.headers)).toMatchObject({
      reason: 'bad type',
      step: 'route-by-type',
      source: { topic: 'raw', partition: 3, offset: '10' },
    });
    const rejection = out.records.find((o) => o.topic === 'rejections');
    expect(rejection?.key).toBe('raw/3/10');
    expect(parseRejection(rejection!.value)).toMatchObject({
      reason: 'bad type',
      step: 'route-by-type',
    });
    expect(out.records).toHaveLength(3); // dead letter, rejection, processed; the drop makes nothing
  });

  it('builds a reply record for a dropped request/response event, and marks the others for a reply', async () => {
    const pipeline = new Pipeline([routeByType]);
    const out = await processBatch(
      {
        topic: 'raw',
        partition: 0,
        messages: [
          rawMessage({ id: 'a', type: 'noise' }, 1, { replyTo: 'edge-1' }),
          rawMessage({ id: 'b', type: 'fine' }, 2, { replyTo: 'edge-2' }),
          rawMessage({ id: 'c', type: 'bad' }, 3, { replyTo: 'edge-3' }),
        ],
      },
      deps(pipeline),
    );
    const reply = out.records.find((r) => r.topic === 'replies');
    expect(reply?.key).toBe('edge-1');
    expect(parseReply(reply!.value)).toMatchObject({
      id: 'a',
      replyTo: 'edge-1',
      outcome: 'dropped',
      reason: 'noise',
      step: 'route-by-type',
    });
    expect(out.records.find((r) => r.outcome.kind === 'processed')?.replyTo).toBe('edge-2');
    expect(out.records.find((r) => r.outcome.kind === 'dlq')?.replyTo).toBe('edge-3');
  });

  it('sends a record that is not an envelope to the DLQ instead of failing the batch', async () => {
    const garbage = {
      key: null,
      value: Buffer.from('not json'),
      headers: {},
      offset: '5',
    } as unknown as ConsumedRecord;
    const out = await processBatch(
      { topic: 'raw', partition: 1, messages: [garbage] },
      deps(new Pipeline([])),
    );
    expect(out.dlq).toBe(1);
    expect(readDlqHeaders(out.records[0]?.headers)?.step).toBe('parse');
    expect(out.records[0]?.key).toBe('raw-1-5');
    expect(out.records[0]?.value.toString()).toBe('not json');
  });
});

describe('processBatch writing processed records over the raw text', () => {
  const message = (text: string) => ({
    ...rawMessage({ id: 'e1', type: 't' }, 0),
    value: Buffer.from(text),
  });
  const stamp: Step = { ...passThroughStep('w1'), name: 'stamp' };

  it('appends what declared steps add to the raw text as it was written', async () => {
    const out = await processBatch(
      {
        topic: 'raw',
        partition: 0,
        messages: [message('{ "id": "e1", "type": "t", "key": "v", "data": { "a": 1 } }')],
      },
      deps(new Pipeline([passThroughStep('w1')])),
    );
    const text = out.records[0]!.value.toString();
    expect(
      text.startsWith('{ "id": "e1", "type": "t", "key": "v", "data": { "a": 1 } ,"processedAt":"'),
    ).toBe(true);
    expect(JSON.parse(text)).toMatchObject({ id: 'e1', data: { a: 1 }, processedBy: 'w1' });
  });

  it('serialises the event again when the raw text has a field a step sets, or a step does not declare what it adds', async () => {
    const raw = '{ "id": "e1", "type": "t", "key": "v", "processedBy": "forged" }';
    const byUser: Step = { name: 'user', run: (e) => ok({ ...e, type: 'changed' }) };
    for (const pipeline of [new Pipeline([passThroughStep('w1')]), new Pipeline([byUser, stamp])]) {
      const out = await processBatch(
        { topic: 'raw', partition: 0, messages: [message(raw)] },
        deps(pipeline),
      );
      const text = out.records[0]!.value.toString();
      expect(text).toBe(JSON.stringify(JSON.parse(text)));
      expect(JSON.parse(text)).toMatchObject({ processedBy: 'w1' });
    }
    const out = await processBatch(
      { topic: 'raw', partition: 0, messages: [message(raw)] },
      deps(new Pipeline([byUser, stamp])),
    );
    expect(JSON.parse(out.records[0]!.value.toString())).toMatchObject({ type: 'changed' });
  });
});

describe('processBatch on a long chunk', () => {
  it('lets the event loop run between events once it has held it for YIELD_AFTER_MS, and keeps the order', async () => {
    let done = 0;
    const slow: Step = {
      name: 'slow',
      run: (event) => {
        const until = performance.now() + 1;
        while (performance.now() < until); // 1 ms of synchronous work per event
        done += 1;
        return ok(event);
      },
    };
    const seenAt: number[] = [];
    const events = 4 * YIELD_AFTER_MS;
    const messages = Array.from({ length: events }, (_, i) =>
      rawMessage({ id: `e${i}`, type: 't' }, i),
    );
    const tick = setInterval(() => seenAt.push(done), 0);
    const out = await processBatch(
      { topic: 'raw', partition: 0, messages },
      deps(new Pipeline([slow])),
    ).finally(() => clearInterval(tick));
    // Timers ran while the chunk was in progress, not only after it.
    expect(seenAt.some((n) => n > 0 && n < events)).toBe(true);
    expect(out.records.map((r) => r.id)).toEqual(Array.from({ length: events }, (_, i) => `e${i}`));
  });
});

describe('processBatch with side outputs', () => {
  const outputs = { emitted: { scores: 'scores', audit: 'audit' } };
  partitions.set('scores', 2);
  partitions.set('audit', 2);
  /** Emits a changelog record per event (its count so far) and an audit record per event; dead-letters type `bad` after emitting. */
  const counting = (): Step => {
    const counts = new Map<string, number>();
    return {
      name: 'count',
      run: (event, ctx) => {
        const n = (counts.get(event.key) ?? 0) + 1;
        counts.set(event.key, n);
        ctx.emit({ output: 'scores', key: event.key, value: { n }, latestPerKey: true });
        ctx.emit({ output: 'audit', key: event.key, value: { seen: event.id } });
        return event.type === 'bad' ? dlq('bad') : ok(event);
      },
    };
  };
  const run = (messages: ConsumedRecord[]) =>
    processBatch(
      { topic: 'raw', partition: 0, messages },
      deps(new Pipeline([counting()]), outputs),
    );

  it('delivers a latestPerKey record once per key and chunk: the last one, after the events, with its event id and position', async () => {
    const out = await run([
      rawMessage({ id: 'e0', type: 't', key: 'a' }, 0),
      rawMessage({ id: 'e1', type: 't', key: 'b' }, 1),
      rawMessage({ id: 'e2', type: 't', key: 'a' }, 2),
    ]);
    const shape = out.records.map((r): unknown[] => [
      r.topic,
      r.key,
      r.headers['intake-id'],
      r.source.offset,
      r.topic === 'out' ? null : (JSON.parse(r.value.toString()) as unknown),
    ]);
    expect(shape).toEqual([
      ['out', 'a', 'e0', '0', null],
      ['audit', 'a', 'e0', '0', { seen: 'e0' }],
      ['out', 'b', 'e1', '1', null],
      ['audit', 'b', 'e1', '1', { seen: 'e1' }],
      ['out', 'a', 'e2', '2', null],
      ['audit', 'a', 'e2', '2', { seen: 'e2' }],
      ['scores', 'b', 'e1', '1', { n: 1 }],
      ['scores', 'a', 'e2', '2', { n: 2 }],
    ]);
    expect(out.records.find((r) => r.topic === 'scores')?.partition).toBe(
      partitions.partition('scores', 'b'),
    );
  });

  it('keeps nothing a dead-lettered event emitted, and starts each chunk afresh', async () => {
    const out = await run([
      rawMessage({ id: 'ok', type: 't', key: 'a' }, 0),
      rawMessage({ id: 'dead', type: 'bad', key: 'a' }, 1),
    ]);
    const scores = out.records.filter((r) => r.topic === 'scores');
    expect(scores.map((r) => [r.headers['intake-id'], r.value.toString()])).toEqual([
      ['ok', '{"n":1}'],
    ]);
    expect(out.records.filter((r) => r.topic === 'audit')).toHaveLength(1);
  });
});

describe('processBatch with recent ids (deduplication of retried events)', () => {
  const MIN = 60_000;
  const event = (id: string): object => ({ id, type: 'page_view', key: 'visitor-1' });
  const run = (ids: RecentIds, messages: ConsumedRecord[]) =>
    processBatch(
      { topic: 'raw', partition: 0, messages },
      { ...deps(new Pipeline([passThroughStep('t')])), recentIds: ids },
    );

  it('skips an id committed before and a repeat inside the chunk; reports the new ids', async () => {
    const ids = new RecentIds({ windowMs: 10 * MIN, maxPerPartition: 100 });
    ids.add(0, [{ id: 'done-before', at: 0 }]);
    const out = await run(ids, [
      rawMessage(event('done-before'), 0),
      rawMessage(event('fresh'), 1),
      rawMessage(event('fresh'), 2),
    ]);
    expect(out.processed).toBe(1);
    expect(out.duplicates).toBe(2);
    expect(out.records.map((r) => r.headers['intake-id'])).toEqual(['fresh']);
    expect(out.ids).toEqual([{ id: 'fresh', at: 0 }]);
  });

  it('does not remember ids itself: a chunk read again (its hand-off abandoned) is processed again', async () => {
    const ids = new RecentIds({ windowMs: 10 * MIN, maxPerPartition: 100 });
    const first = await run(ids, [rawMessage(event('x'), 0)]);
    const again = await run(ids, [rawMessage(event('x'), 0)]);
    expect([first.processed, again.processed, again.duplicates]).toEqual([1, 1, 0]);
  });

  it('answers a duplicate request/response event with a dropped reply naming the reason', async () => {
    const ids = new RecentIds({ windowMs: 10 * MIN, maxPerPartition: 100 });
    ids.add(0, [{ id: 'asked-twice', at: 0 }]);
    const out = await run(ids, [rawMessage(event('asked-twice'), 0, { replyTo: 'edge-1' })]);
    expect(out.duplicates).toBe(1);
    expect(out.records).toHaveLength(1);
    expect(parseReply(out.records[0]!.value)).toMatchObject({
      id: 'asked-twice',
      outcome: 'dropped',
      reason: DUPLICATE_REASON,
    });
  });
});
