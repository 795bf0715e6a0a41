/**
 * The load runner's own logic, without a fleet: DURATION parsing and the threshold
 * checks that decide its exit code.
 */
import { checks, findScenario, parseDuration } from './run';

describe('load runner', () => {
  it('reads DURATION as seconds, "30s" or "10m", and refuses anything else', () => {
    expect(parseDuration('45')).toBe(45);
    expect(parseDuration('30s')).toBe(30);
    expect(parseDuration('10m')).toBe(600);
    expect(() => parseDuration('1h')).toThrow(/DURATION/);
  });

  it('fails a run on too many failures, a high p99 or a rate short of the target', () => {
    const t = { failedRate: 0.01, p99Ms: 500, minRateRatio: 0.95, maxDropped: 0 };
    expect(checks(t, 0, 100, 1).every((c) => c.ok)).toBe(true);
    expect(checks(t, 0.02, 100, 1).map((c) => c.ok)).toEqual([false, true, true]);
    expect(checks(t, 0, 500, 1).map((c) => c.ok)).toEqual([true, false, true]);
    expect(checks(t, 0, 100, 0.9).map((c) => c.ok)).toEqual([true, true, false]);
  });

  it('knows its scenarios and names them when asked for another', () => {
    expect(findScenario('stream').kind).toBe('stream');
    expect(() => findScenario('nope')).toThrow(/ack-single/);
  });
});
