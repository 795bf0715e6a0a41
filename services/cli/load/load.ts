/**
 * A load generator for fault runs: POSTs batches of events at a fixed arrival rate (an
 * open model: a request is due every 1/rate s whether or not the previous ones were
 * answered), and behaves as a well-kept client does: a 503, 429, 502 or a broken
 * connection is retried with the same body (so the same ids) after `Retry-After` or a
 * short backoff, until the run's deadline. Every acknowledged id is recorded with when it
 * was sent and how long its answer took (retries included), which is what `intake audit
 * --acked` checks and the fault report's latency comes from.
 */
import { randomUUID } from 'node:crypto';

export interface LoadOptions {
  url: string;
  apiKey: string;
  /** Requests a second. */
  rate: number;
  durationMs: number;
  /** Events per request. */
  batch: number;
  /** Requests in flight at most (beyond: counted as dropped, never queued). */
  maxInFlight?: number;
  /** How long after the run a request may still be retried. */
  retryForMs?: number;
  /** Stops sending new requests (those sent are still retried until answered or the deadline). */
  signal?: AbortSignal;
}

export interface Ack {
  id: string;
  /** When the request was first sent (ms since the epoch). */
  sentAt: number;
  /** Until the 202, retries included. */
  ms: number;
  attempts: number;
}

export interface LoadResult {
  acked: Ack[];
  requests: number;
  retries: number;
  /** Requests given up (deadline) or not sent (in-flight bound): their events are not acknowledged. */
  failed: number;
  dropped: number;
  /** Answers by status (0: no answer: connection refused, reset or timed out), retries included. */
  statuses: Record<string, number>;
  /** Every answer with when it came (ms since the epoch), for statuses during and after a fault. */
  answers: { at: number; status: number }[];
}

const RETRIABLE = new Set([429, 502, 503, 504]);

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const run = randomUUID().slice(0, 8);
  const result: LoadResult = {
    acked: [],
    requests: 0,
    retries: 0,
    failed: 0,
    dropped: 0,
    statuses: {},
    answers: [],
  };
  const maxInFlight = o.maxInFlight ?? 256;
  const deadline = Date.now() + o.durationMs + (o.retryForMs ?? 60_000);
  let inFlight = 0;
  let n = 0;
  const pending: Promise<void>[] = [];

  const send = async (body: string): Promise<void> => {
    const sentAt = Date.now();
    for (let attempt = 1; ; attempt++) {
      let status: number;
      let retryAfter = 0;
      try {
        const res = await fetch(o.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${o.apiKey}` },
          body,
          signal: AbortSignal.timeout(30_000),
        });
        status = res.status;
        retryAfter = Number(res.headers.get('retry-after') ?? 0);
        const text = await res.text();
        if (status === 202) {
          const accepted = (JSON.parse(text) as { accepted: { id: string }[] }).accepted;
          const ms = Date.now() - sentAt;
          for (const a of accepted) result.acked.push({ id: a.id, sentAt, ms, attempts: attempt });
        }
      } catch {
        status = 0; // connection refused or reset: retried like a 503
      }
      result.statuses[status] = (result.statuses[status] ?? 0) + 1;
      result.answers.push({ at: Date.now(), status });
      if (status === 202) return;
      if ((status !== 0 && !RETRIABLE.has(status)) || Date.now() > deadline) {
        result.failed += 1;
        return;
      }
      result.retries += 1;
      await new Promise((r) =>
        setTimeout(r, retryAfter > 0 ? retryAfter * 1000 : 250 * Math.min(attempt, 8)),
      );
    }
  };

  const started = Date.now();
  const total = Math.round((o.rate * o.durationMs) / 1000);
  for (let i = 0; i < total && !o.signal?.aborted; i++) {
    const due = started + (i * 1000) / o.rate;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (inFlight >= maxInFlight) {
      result.dropped += 1;
      continue;
    }
    const events = Array.from({ length: o.batch }, () => {
      n += 1;
      return {
        id: `load-${run}-${n}`,
        type: 'load_tick',
        key: `load-visitor-${n % 997}`,
        data: { n },
      };
    });
    inFlight += 1;
    result.requests += 1;
    pending.push(send(JSON.stringify(events)).finally(() => (inFlight -= 1)));
  }
  await Promise.all(pending);
  return result;
}

/** Answers by status among those that came in [from, to). */
export function statusesBetween(
  answers: LoadResult['answers'],
  from: number,
  to = Infinity,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers)
    if (a.at >= from && a.at < to) counts[a.status] = (counts[a.status] ?? 0) + 1;
  return counts;
}

/** The p-th percentile (0..100) of the answer times of acks sent in [from, to). */
export function percentile(acked: Ack[], p: number, from = 0, to = Infinity): number | null {
  const ms = acked.filter((a) => a.sentAt >= from && a.sentAt < to).map((a) => a.ms);
  if (ms.length === 0) return null;
  ms.sort((a, b) => a - b);
  return ms[Math.min(ms.length - 1, Math.floor((p / 100) * ms.length))]!;
}
