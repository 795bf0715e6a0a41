/** The consumer's wait on long work (a transaction, a state restore) while heartbeating. */
import { whileHeartbeating } from '../../../services/worker/consumer/raw-consumer';

const after = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => setTimeout(() => resolve(value), ms));

describe('whileHeartbeating', () => {
  it('a failed heartbeat does not end the wait: it settles with the work, once', async () => {
    let beats = 0;
    const heartbeat = (): Promise<void> => {
      beats += 1;
      return Promise.reject(new Error('This is not the correct coordinator for this group'));
    };
    await expect(whileHeartbeating({ heartbeat }, after(1300, 'committed'))).resolves.toBe(
      'committed',
    );
    expect(beats).toBe(1);
  });

  it("rejects with the work's own error", async () => {
    const work = after(10, null).then(() => {
      throw new Error('transaction failed');
    });
    await expect(whileHeartbeating({ heartbeat: () => Promise.resolve() }, work)).rejects.toThrow(
      'transaction failed',
    );
  });
});
