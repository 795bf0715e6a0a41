/**
 * The outputs registry: each named output goes to its topic, under its key (and that key's
 * partition), written by its encoder; the records of an event carry its id and outcome.
 */
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { readDlqHeaders } from '../../../lib/records/dlq';
import { parseProcessed } from '../../../lib/records/processed';
import { parseProgress } from '../../../lib/records/progress';
import { parseRejection } from '../../../lib/records/rejection';
import { parseReply } from '../../../lib/records/reply';
import { kafkaDefaults } from '../../../lib/config';
import { Outputs, workerOutputs } from '../../../services/worker/outbound/outputs';
import { rawMessage } from '../../support/raw-message';

const topics = {
  processed: 'out',
  dlq: 'dead',
  replies: 'replies',
  rejections: 'rejections',
  progress: 'progress',
  emitted: { scores: 'scores' },
};
const partitions = new TopicPartitions();
for (const topic of ['out', 'dead', 'replies', 'rejections', 'progress', 'scores'])
  partitions.set(topic, 7);
const outputs = new Outputs(topics, partitions);
const source = { partition: 2, offset: '41' };

describe('Outputs', () => {
  it('encodes each named output to its topic, key and partition', () => {
    const event = parseProcessed(rawMessage({ id: 'e1', type: 't', key: 'v1' }, 0).value);
    const progress = {
      topic: 'raw',
      partition: 2,
      deliveredUpTo: '40',
      committedNext: '42',
      worker: 'w1',
      at: 'now',
    };
    const cases = [
      [outputs.encode('processed', event), 'out', 'v1', (v: Buffer) => parseProcessed(v).id],
      [
        outputs.encode('dlq', { key: 'raw-key', value: Buffer.from('garbage') }),
        'dead',
        'raw-key',
        (v: Buffer) => v.toString(),
      ],
      [
        outputs.encode('emitted', { output: 'scores', key: 'v1', value: { score: 0.5 } }),
        'scores',
        'v1',
        (v: Buffer) => (JSON.parse(v.toString()) as { score: number }).score,
      ],
      [
        outputs.encode('replies', {
          reply: { id: 'e1', replyTo: 'edge-1', outcome: 'dropped', at: 'now' },
        }),
        'replies',
        'edge-1',
        (v: Buffer) => parseReply(v)?.outcome,
      ],
      [
        outputs.encode('rejections', {
          topic: 'raw',
          source,
          rejection: { reason: 'bad', step: 'validate', at: 'now' },
        }),
        'rejections',
        'raw/2/41',
        (v: Buffer) => parseRejection(v).reason,
      ],
      [
        outputs.encode('progress', progress),
        'progress',
        'raw/2',
        (v: Buffer) => parseProgress(v).worker,
      ],
    ] as const;
    expect(
      cases.map(([r, topic, key, read]) => [
        r.topic === topic,
        r.key === key,
        r.partition === partitions.partition(topic, key),
        read(r.value),
      ]),
    ).toEqual([
      [true, true, true, 'e1'],
      [true, true, true, 'garbage'],
      [true, true, true, 0.5],
      [true, true, true, 'dropped'],
      [true, true, true, 'bad'],
      [true, true, true, 'w1'],
    ]);
  });

  it('builds a dead letter with its typed outcome, the input headers kept and the reason added', () => {
    const raw = rawMessage({ id: 'e2', type: 't', key: 'v2' }, 41);
    const dead = outputs.deadLetter(
      { key: 'v2', value: raw.value! },
      { id: 'e2', source, replyTo: 'edge-3' },
      {
        reason: 'x'.repeat(5000),
        step: 'validate',
        at: 'now',
        source: { topic: 'raw', ...source },
      },
      raw.headers,
    );
    expect(dead.outcome).toEqual({ kind: 'dlq', reason: 'x'.repeat(1000), step: 'validate' });
    expect([
      dead.id,
      dead.replyTo,
      dead.headers['intake-id'],
      dead.headers['intake-source'],
    ]).toEqual(['e2', 'edge-3', 'e2', 's']);
    expect(readDlqHeaders(dead.headers)?.step).toBe('validate');
  });

  it('leaves out an optional output without a topic, and refuses an output steps may not write', () => {
    const bare = new Outputs({ processed: 'out', dlq: 'dead', replies: 'replies' }, partitions);
    expect(
      bare.rejection(
        { topic: 'raw', source, rejection: { reason: 'r', step: 's', at: 'a' } },
        { id: 'e', source },
      ),
    ).toBeNull();
    expect(() =>
      bare.emitted({ output: 'scores', key: 'k', value: 1 }, { id: 'e', source }),
    ).toThrow('unknown output "scores"');
    expect(() => bare.encode('progress', {} as never)).toThrow('has no topic');
  });

  it("the worker's outputs take the score step's records (a worker once crashed on them: unknown output)", () => {
    const { topics } = kafkaDefaults;
    const all = new TopicPartitions();
    for (const topic of Object.values(topics)) all.set(topic, 3);
    const outputs = workerOutputs(topics, all);
    const score = outputs.emitted(
      { output: 'scores', key: 'v1', value: { score: 1 } },
      { id: 'e', source },
    );
    expect([score.topic, score.outcome.kind]).toEqual([topics.scores, 'side']);
    expect(outputs.has('rejections') && outputs.has('progress')).toBe(true);
  });
});
