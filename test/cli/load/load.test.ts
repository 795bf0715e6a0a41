import { percentile, statusesBetween } from '../../../services/cli/load/load';

describe('load generator figures', () => {
  const answers = [
    { at: 100, status: 202 },
    { at: 150, status: 503 },
    { at: 200, status: 503 },
    { at: 250, status: 0 },
    { at: 300, status: 202 },
  ];

  it('counts answers by status within [from, to)', () => {
    expect(statusesBetween(answers, 150, 300)).toEqual({ '503': 2, '0': 1 });
    expect(statusesBetween(answers, 300)).toEqual({ '202': 1 });
    expect(statusesBetween(answers, 400)).toEqual({});
  });

  it('takes percentiles of the acks sent within [from, to)', () => {
    const acked = [10, 20, 30, 40].map((ms, i) => ({
      id: `${i}`,
      sentAt: i * 100,
      ms,
      attempts: 1,
    }));
    expect(percentile(acked, 50)).toBe(30);
    expect(percentile(acked, 99, 100, 300)).toBe(30);
    expect(percentile(acked, 99, 1000)).toBeNull();
  });
});
