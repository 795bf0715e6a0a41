/**
 * A fenced transactional producer stays fenced: after one call failed `KAFKA_FENCED`, every
 * later call is refused with that error without running; other failures change nothing.
 */
import { IntakeError } from '../../../lib/errors';
import { FencedLatch } from '../../../lib/kafka/broker-errors';

const translate = (err: unknown, what: string): IntakeError =>
  err instanceof IntakeError
    ? err
    : new IntakeError('KAFKA_UNAVAILABLE', `${what}: ${String(err)}`);

describe('FencedLatch', () => {
  it('runs calls while none was fenced, translating their failures', async () => {
    const latch = new FencedLatch(translate);
    await expect(latch.call('a', () => Promise.resolve(1))).resolves.toBe(1);
    await expect(latch.call('b', () => Promise.reject(new Error('down')))).rejects.toMatchObject({
      code: 'KAFKA_UNAVAILABLE',
    });
    await expect(latch.call('c', () => Promise.resolve(2))).resolves.toBe(2);
  });

  it('refuses every call after a fenced one, without running it', async () => {
    const latch = new FencedLatch(translate);
    const fenced = new IntakeError('KAFKA_FENCED', 'a newer producer took over');
    await expect(latch.call('commit', () => Promise.reject(fenced))).rejects.toBe(fenced);
    const run = jest.fn(() => Promise.resolve(3));
    await expect(latch.call('begin', run)).rejects.toBe(fenced);
    expect(run).not.toHaveBeenCalled();
  });
});
