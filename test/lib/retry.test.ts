import { IntakeError } from '../../lib/errors';
import { Backoff, withRetry } from '../../lib/retry';

describe('Backoff', () => {
  afterEach(() => jest.restoreAllMocks());

  /** The delays `next()` gives with Math.random() pinned to `r`. */
  function delays(backoff: Backoff, r: number, n: number): number[] {
    jest.spyOn(Math, 'random').mockReturnValue(r);
    return Array.from({ length: n }, () => backoff.next());
  }

  it('jitters each wait within [0.5, 1.5) of the base', () => {
    expect(delays(new Backoff(100, 10_000), 0, 1)).toEqual([50]);
    const [high] = delays(new Backoff(100, 10_000), 0.999999, 1);
    expect(high).toBeGreaterThan(149.99);
    expect(high).toBeLessThan(150);
    jest.restoreAllMocks();
    const b = new Backoff(100, 100);
    for (let i = 0; i < 200; i++) {
      const d = b.next();
      expect(d).toBeGreaterThanOrEqual(50);
      expect(d).toBeLessThan(150);
    }
  });

  it('doubles the base after every wait, up to the maximum', () => {
    expect(delays(new Backoff(100, 1000), 0.5, 6)).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('caps at the maximum even when it is not a power-of-two multiple', () => {
    expect(delays(new Backoff(30, 100), 0.5, 4)).toEqual([30, 60, 100, 100]);
  });

  it('starts over from the initial delay after reset()', () => {
    const b = new Backoff(10, 1000);
    expect(delays(b, 0.5, 3)).toEqual([10, 20, 40]);
    b.reset();
    expect(b.next()).toBe(10);
    expect(b.next()).toBe(20);
  });
});

describe('withRetry', () => {
  const unavailable = () => new IntakeError('KAFKA_UNAVAILABLE', 'down');

  it('retries retriable failures until the action succeeds', async () => {
    let calls = 0;
    const result = await withRetry(
      () => (++calls < 3 ? Promise.reject(unavailable()) : Promise.resolve('ok')),
      { initialMs: 1, maxMs: 2 },
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('gives up after `retries` retries with the last error', async () => {
    let calls = 0;
    const failing = () => {
      calls += 1;
      return Promise.reject(unavailable());
    };
    await expect(withRetry(failing, { retries: 2, initialMs: 1, maxMs: 2 })).rejects.toThrow(
      'down',
    );
    expect(calls).toBe(3);
  });

  it('never retries a programming error', async () => {
    let calls = 0;
    const failing = () => {
      calls += 1;
      return Promise.reject(new TypeError('bug'));
    };
    await expect(withRetry(failing, { initialMs: 1 })).rejects.toThrow('bug');
    expect(calls).toBe(1);
  });
});
