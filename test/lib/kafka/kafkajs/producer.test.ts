/**
 * The kafkajs adapter's producer: a new kafkajs producer (a new producer id) after a
 * failed request, and kafkajs' answers as the port's acks, an answer with an error code
 * for a partition being no acknowledgement of it.
 */
import type { Producer } from 'kafkajs';
import { IntakeError } from '../../../../lib/errors';
import { KafkajsProducerPort, toAcks } from '../../../../lib/kafka/kafkajs/producer';

describe('KafkajsProducerPort', () => {
  it('swaps in a new kafkajs producer on reset', async () => {
    const made: { connect: jest.Mock; disconnect: jest.Mock; sendBatch: jest.Mock }[] = [];
    const make = (): Producer => {
      const p = {
        connect: jest.fn(() => Promise.resolve()),
        disconnect: jest.fn(() => Promise.resolve()),
        sendBatch: jest.fn(() => Promise.resolve([])),
      };
      made.push(p);
      return p as unknown as Producer;
    };
    const producer = new KafkajsProducerPort(make);
    await producer.sendBatch({ topicMessages: [] });
    await producer.reset();
    await producer.sendBatch({ topicMessages: [] });
    expect(made).toHaveLength(2);
    expect(made[0]!.disconnect).toHaveBeenCalled();
    expect(made[1]!.connect).toHaveBeenCalled();
    expect(made[0]!.sendBatch).toHaveBeenCalledTimes(1);
    expect(made[1]!.sendBatch).toHaveBeenCalledTimes(1);
  });

  it("reads kafkajs' answer as acks; a partition answered with an error code is not acknowledged", () => {
    const request = {
      topicMessages: [
        {
          topic: 'raw',
          messages: [
            { key: 'a', value: '1', partition: 0 },
            { key: 'b', value: '2', partition: 3 },
          ],
        },
      ],
    };
    const ok = { topicName: 'raw', errorCode: 0, baseOffset: '7' };
    expect(
      toAcks(request, [
        { ...ok, partition: 0 },
        { ...ok, partition: 3 },
      ]),
    ).toEqual([
      { topic: 'raw', partition: 0, baseOffset: '7' },
      { topic: 'raw', partition: 3, baseOffset: '7' },
    ]);
    expect(() =>
      toAcks(request, [
        { ...ok, partition: 0 },
        { ...ok, partition: 3, errorCode: 6 },
      ]),
    ).toThrow(IntakeError);
  });
});
