/**
 * The WebSocket streaming load (vegeta speaks no WebSocket): the project's own
 * StreamClient sends events at a constant rate; the latency of an event is from the
 * moment it was due until the edge's cumulative ack covered it (polled every 2 ms, so
 * latencies are up to 2 ms high). Events that could not be sent on time because the
 * client's window was full are "dropped iterations"; rejected events or events never
 * acknowledged within 30 s of the end are failures.
 */
import { StreamClient } from '../../lib/client/stream-client';
import { loadEvent } from './scenarios';
import type { Latencies } from './vegeta';

export interface StreamResult {
  sent: number;
  expected: number;
  acked: number;
  rejected: number;
  refused: number;
  latencyMs: Latencies;
  seconds: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export async function streamLoad(opts: {
  url: string;
  apiKey?: string;
  rate: number;
  seconds: number;
}): Promise<StreamResult> {
  let rejected = 0;
  let refused = 0;
  const client = new StreamClient({
    url: opts.url,
    ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
    onEvent: (e) => {
      if (e.kind === 'rejected') rejected++;
      if (e.kind === 'refused') refused++;
    },
  });
  const dueAt: number[] = []; // by seq - 1
  const latencies: number[] = [];
  let seen = 0;
  const poll = setInterval(() => {
    const now = performance.now();
    for (; seen < client.lastAck && seen < dueAt.length; seen++) latencies.push(now - dueAt[seen]!);
  }, 2);
  const started = performance.now();
  const end = started + opts.seconds * 1000;
  let sent = 0;
  try {
    while (performance.now() < end) {
      const due = Math.floor(((performance.now() - started) / 1000) * opts.rate);
      while (sent < due && performance.now() < end) {
        dueAt.push(started + (sent / opts.rate) * 1000);
        await client.send(loadEvent(sent));
        sent++;
      }
      await sleep(5);
    }
    await Promise.race([client.drain(), sleep(30_000)]);
  } finally {
    clearInterval(poll);
    client.close();
  }
  const now = performance.now();
  for (; seen < client.lastAck && seen < dueAt.length; seen++) latencies.push(now - dueAt[seen]!);
  const sorted = latencies.sort((a, b) => a - b);
  const r = (x: number): number => +x.toFixed(2);
  return {
    sent,
    expected: Math.round(opts.rate * opts.seconds),
    acked: client.lastAck,
    rejected,
    refused,
    latencyMs: {
      p50: r(quantile(sorted, 0.5)),
      p90: r(quantile(sorted, 0.9)),
      p99: r(quantile(sorted, 0.99)),
      max: r(sorted[sorted.length - 1] ?? 0),
      mean: r(sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length)),
    },
    seconds: (now - started) / 1000,
  };
}
