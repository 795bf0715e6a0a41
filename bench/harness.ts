/**
 * What the benchmarks share: an HTTP load run (autocannon, the same generator for every
 * target) and the median of repetitions.
 */
import autocannon from 'autocannon';

export async function load(
  url: string,
  body: string,
  key: string,
  seconds: number,
  connections: number,
): Promise<{ rps: number; p99: number; errors: number }> {
  const result = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body,
  });
  const non2xx = result.non2xx + result.errors + result.timeouts;
  return { rps: result.requests.average, p99: result.latency.p99, errors: non2xx };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
