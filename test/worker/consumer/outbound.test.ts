import type { KafkaMessage } from 'kafkajs';
import { toKafkaMessage, wrapEvent } from '../../../lib/envelope';
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { drop, dlq, ok } from '../../../lib/pipeline';
import type { Step } from '../../../lib/pipeline';
import { processMessages } from '../../../services/worker/consumer/outbound';
import { Pipeline } from '../../../services/worker/pipeline/pipeline';
import { passThroughStep } from '../../../services/worker/pipeline/steps/pass-through-step';

const topics = { processed: 'out', dlq: 'dead' };
const partitions = new TopicPartitions();
partitions.set('out', 4);
partitions.set('dead', 2);

function rawMessage(event: object, offset: number): KafkaMessage {
  const r = wrapEvent(event, {
    source: 's',
    pattern: 'request-ack',
    receivedAt: new Date(),
    meta: {},
  });
  if (!r.ok) throw new Error(r.reason);
  const m = toKafkaMessage(r.envelope);
  return {
    key: Buffer.from(m.key as string),
    value: Buffer.from(m.value as string),
    headers: m.headers,
    offset: String(offset),
    timestamp: '0',
    attributes: 0,
  } as KafkaMessage;
}

const routeByType: Step = {
  name: 'route-by-type',
  run: (event) =>
    event.type === 'bad' ? dlq('bad type') : event.type === 'noise' ? drop('noise') : ok(event),
};

describe('processMessages', () => {
  it('sends ok events to the processed topic keyed and partitioned by their key, with the same id', async () => {
    const pipeline = new Pipeline([passThroughStep('w1')]);
    const out = await processMessages(
      { topic: 'raw', partition: 0, messages: [rawMessage({ id: 'e1', type: 't', key: 'v9' }, 0)] },
      { pipeline, topics, partitions },
    );
    expect(out.processed).toBe(1);
    const [rec] = out.outbound;
    expect(rec?.topic).toBe('out');
    expect(rec?.record.key).toBe('v9');
    expect(rec?.record.partition).toBe(partitions.partition('out', 'v9'));
    expect(rec?.record.headers?.['intake-id']).toBe('e1');
    expect(JSON.parse(rec?.record.value as string)).toMatchObject({ id: 'e1', processedBy: 'w1' });
  });

  it('routes dlq results with the reason, step and source position in headers, and counts drops', async () => {
    const pipeline = new Pipeline([routeByType]);
    const out = await processMessages(
      {
        topic: 'raw',
        partition: 3,
        messages: [
          rawMessage({ type: 'bad' }, 10),
          rawMessage({ type: 'noise' }, 11),
          rawMessage({ type: 'fine' }, 12),
        ],
      },
      { pipeline, topics, partitions },
    );
    expect(out).toMatchObject({ processed: 1, dlq: 1, dropped: 1 });
    const dead = out.outbound.find((o) => o.outcome === 'dlq');
    expect(dead?.topic).toBe('dead');
    expect(dead?.record.headers).toMatchObject({
      'intake-dlq-reason': 'bad type',
      'intake-dlq-step': 'route-by-type',
      'intake-source-partition': '3',
      'intake-source-offset': '10',
    });
  });

  it('sends a record that is not an envelope to the DLQ instead of failing the batch', async () => {
    const garbage = {
      key: null,
      value: Buffer.from('not json'),
      headers: {},
      offset: '5',
    } as unknown as KafkaMessage;
    const out = await processMessages(
      { topic: 'raw', partition: 1, messages: [garbage] },
      { pipeline: new Pipeline([]), topics, partitions },
    );
    expect(out.dlq).toBe(1);
    expect(out.outbound[0]?.record.headers?.['intake-dlq-step']).toBe('parse');
    expect(out.outbound[0]?.record.key).toBe('raw-1-5');
  });
});
