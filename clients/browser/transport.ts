/**
 * How the tracker reaches the edge: `fetch` and `navigator.sendBeacon`, both with a
 * `text/plain` body (a JSON array of events) and the key in `?api_key=`, so neither needs
 * a CORS preflight. `fetch` omits cookies (the tracker keys events by its own visitor id)
 * and reads the answer and `Retry-After` (exposed by the edge's CORS headers).
 */
import type { SendOutcome, TrackedEvent, Transport } from './queue';

export function httpTransport(url: string, key: string): Transport {
  const endpoint = `${url}/v1/events?api_key=${encodeURIComponent(key)}`;
  return {
    async send(events: TrackedEvent[]): Promise<SendOutcome> {
      let res: Response;
      try {
        res = await fetch(endpoint, {
          method: 'POST',
          headers: { 'content-type': 'text/plain;charset=UTF-8' },
          body: JSON.stringify(events),
          credentials: 'omit',
        });
      } catch {
        return { answered: false };
      }
      const retryAfter = Number(res.headers.get('retry-after'));
      let body: unknown;
      try {
        body = await res.json();
      } catch {
        body = undefined;
      }
      return {
        answered: true,
        status: res.status,
        ...(retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
        body,
      };
    },
    beacon(events: TrackedEvent[]): boolean {
      try {
        return navigator.sendBeacon(endpoint, JSON.stringify(events));
      } catch {
        return false;
      }
    },
  };
}
