import fc from 'fast-check';
import { isoNow, isoTime } from '../../lib/clock';

describe('isoTime', () => {
  it('is toISOString, also when one time repeats or the times go back', () => {
    const time = fc.integer({ min: 0, max: 4102444800000 });
    fc.assert(
      fc.property(fc.array(time, { maxLength: 20 }), (times) => {
        for (const t of [...times, ...times])
          expect(isoTime(new Date(t))).toBe(new Date(t).toISOString());
      }),
    );
  });

  it('throws for an invalid date, as toISOString does', () => {
    expect(() => isoTime(new Date(NaN))).toThrow(RangeError);
  });

  it('gives now', () => {
    const before = Date.now();
    const now = Date.parse(isoNow());
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
