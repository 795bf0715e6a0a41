/**
 * A connection asked for a broker the cluster's metadata does not hold (a coordinator or a
 * leader restarting) fails as an unreachable broker does, retriable, instead of throwing a
 * TypeError inside the client's callbacks (which ended the worker's process).
 */
import { translate } from '../../../../lib/kafka/platformatic/errors';
import { platformatic } from '../../../../lib/kafka/platformatic/load';

describe('the @platformatic/kafka loader', () => {
  const pool = (): InstanceType<ReturnType<typeof platformatic>['ConnectionPool']> =>
    new (platformatic().ConnectionPool)('guard-test', { connectTimeout: 100 });

  it('answers a call for an unknown broker with a retriable network error', () => {
    const errors: unknown[] = [];
    const p = pool();
    expect(() =>
      p.get(undefined as never, (error) => {
        errors.push(error);
      }),
    ).not.toThrow();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(platformatic().NetworkError);
    const translated = translate(errors[0], 'committing the offsets failed');
    expect(translated.code).toBe('KAFKA_UNAVAILABLE');
    expect(translated.retriable).toBe(true);
  });

  it('rejects the promise form the same way', async () => {
    await expect(pool().get(undefined as never)).rejects.toBeInstanceOf(
      platformatic().NetworkError,
    );
  });

  it('still connects to a known broker (the call goes through)', async () => {
    // Nothing listens on port 1: the real pool tries, and fails to connect.
    const p = pool();
    await expect(p.get({ host: '127.0.0.1', port: 1 })).rejects.toBeInstanceOf(
      platformatic().NetworkError,
    );
    await p.close();
  });
});
