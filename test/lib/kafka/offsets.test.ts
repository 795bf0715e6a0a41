import fc from 'fast-check';
import { atOrAfter } from '../../../lib/kafka/offsets';

describe('atOrAfter', () => {
  it('orders offset texts as their numbers do', () => {
    const offset = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n });
    fc.assert(
      fc.property(offset, offset, (a, b) => atOrAfter(a.toString(), b.toString()) === a >= b),
    );
    expect(atOrAfter('10', '9')).toBe(true);
    expect(atOrAfter('9', '10')).toBe(false);
    expect(atOrAfter('7', '7')).toBe(true);
  });
});
