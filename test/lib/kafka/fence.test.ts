/**
 * Claiming a transactional id: the producer is handed over only once connected (the moment
 * the port's adapters fence every earlier producer of the id), and a failed claim hands
 * nothing over.
 */
import { IntakeError } from '../../../lib/errors';
import { claimTransactionalId } from '../../../lib/kafka/fence';
import type { TransactionalProducer } from '../../../lib/kafka/port';

function fakeKafka(connect: () => Promise<void>) {
  const opened: { transactionalId: string; transactionTimeoutMs: number }[] = [];
  const events: string[] = [];
  const kafka = {
    transactionalProducer: (options: { transactionalId: string; transactionTimeoutMs: number }) => {
      opened.push(options);
      return {
        connect: async () => {
          await connect();
          events.push('connected');
        },
      } as unknown as TransactionalProducer;
    },
  };
  return { kafka, opened, events };
}

describe('claimTransactionalId', () => {
  it('resolves with the producer of the id once it is connected', async () => {
    const { kafka, opened, events } = fakeKafka(() => new Promise((r) => setTimeout(r, 10)));
    const claimed = claimTransactionalId(kafka, {
      transactionalId: 'g.raw.3',
      transactionTimeoutMs: 5000,
    });
    await claimed;
    events.push('claimed');
    expect(opened).toEqual([{ transactionalId: 'g.raw.3', transactionTimeoutMs: 5000 }]);
    expect(events).toEqual(['connected', 'claimed']);
  });

  it('rejects when the claim fails', async () => {
    const fenced = new IntakeError('KAFKA_UNAVAILABLE', 'coordinator not available');
    const { kafka } = fakeKafka(() => Promise.reject(fenced));
    await expect(
      claimTransactionalId(kafka, { transactionalId: 'p', transactionTimeoutMs: 5000 }),
    ).rejects.toBe(fenced);
  });
});
