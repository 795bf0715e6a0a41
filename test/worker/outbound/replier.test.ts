import type { TopicRecords } from '../../../lib/kafka/port';
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { parseReply } from '../../../lib/records/reply';
import { Outputs } from '../../../services/worker/outbound/outputs';
import { Replier, droppedReply } from '../../../services/worker/outbound/replier';
import { outboundRecord, silentLogger } from '../../support/fakes';

function setup(fail = false) {
  const partitions = new TopicPartitions();
  partitions.set('replies', 4);
  const sent: TopicRecords[] = [];
  const outputs = new Outputs({ processed: 'out', dlq: 'dead', replies: 'replies' }, partitions);
  const replier = new Replier({
    producer: {
      sendBatch: ({ topicMessages }) => {
        sent.push(...topicMessages);
        return fail ? Promise.reject(new Error('down')) : Promise.resolve([]);
      },
    },
    outputs,
    logger: silentLogger(),
  });
  const replies = () =>
    sent.flatMap((r) =>
      r.messages.map((m) => ({
        key: m.key,
        partition: m.partition,
        reply: parseReply(m.value as Buffer),
      })),
    );
  return { replier, outputs, partitions, sent, replies };
}

describe('Replier', () => {
  it('replies for an acknowledged processed record with the delivered event and its position', () => {
    const { replier, partitions, replies } = setup();
    const value = Buffer.from(JSON.stringify({ id: 'e1', type: 'page_view', n: 1e21 }));
    const record = outboundRecord(1, { value, replyTo: 'edge-7', id: 'e1', headers: {} });
    replier.acknowledged([record], ['42']);
    const [r] = replies();
    expect(r?.key).toBe('edge-7');
    expect(r?.partition).toBe(partitions.partition('replies', 'edge-7'));
    expect(r?.reply).toMatchObject({
      id: 'e1',
      replyTo: 'edge-7',
      outcome: 'processed',
      position: { topic: 'out', partition: 0, offset: '42' },
      result: { id: 'e1', type: 'page_view', n: 1e21 },
    });
  });

  it('replies rejected for an acknowledged dead letter, with the reason and step of its outcome (not read back from headers)', () => {
    const { replier, replies } = setup();
    const outcome = {
      kind: 'dlq' as const,
      reason: 'data/price must be number',
      step: 'validate',
    };
    replier.acknowledged(
      [outboundRecord(2, { outcome, topic: 'dead', id: 'e2', headers: {}, replyTo: 'edge-1' })],
      ['3'],
    );
    expect(replies()[0]?.reply).toMatchObject({
      id: 'e2',
      outcome: 'rejected',
      reason: 'data/price must be number',
      step: 'validate',
      position: { topic: 'dead', partition: 0, offset: '3' },
    });
  });

  it('sends nothing for records without a waiting edge, nor for side records', () => {
    const { replier, sent } = setup();
    replier.acknowledged(
      [
        outboundRecord(1),
        outboundRecord(2, { outcome: { kind: 'side' }, topic: 'scores', replyTo: 'edge-1' }),
      ],
      ['0', '1'],
    );
    expect(sent).toHaveLength(0);
  });

  it('sends the replies of one acknowledgement in one request, and survives a failed send', async () => {
    const { replier, sent } = setup(true);
    replier.acknowledged(
      [outboundRecord(1, { replyTo: 'a' }), outboundRecord(2), outboundRecord(3, { replyTo: 'b' })],
      ['0', '1', '2'],
    );
    await new Promise((r) => setImmediate(r));
    expect(sent).toHaveLength(1);
    expect(sent[0]?.messages.map((m) => m.key)).toEqual(['a', 'b']);
  });

  it('builds the reply record of a dropped event, keyed by the waiting edge', () => {
    const { outputs, partitions } = setup();
    const r = droppedReply(
      outputs,
      { id: 'e3', replyTo: 'edge-2' },
      { reason: 'bot', step: 'filter' },
      { partition: 5, offset: '77' },
    );
    expect(r).toMatchObject({
      topic: 'replies',
      key: 'edge-2',
      id: 'e3',
      outcome: { kind: 'side' },
      source: { partition: 5, offset: '77' },
    });
    expect(r.partition).toBe(partitions.partition('replies', 'edge-2'));
    expect(r.headers['intake-id']).toBe('e3');
    expect(parseReply(r.value)).toMatchObject({
      id: 'e3',
      outcome: 'dropped',
      reason: 'bot',
      step: 'filter',
    });
  });
});
