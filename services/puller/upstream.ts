/**
 * Reads one upstream stream: Server-Sent Events (parsed by `eventsource-parser`) or NDJSON
 * over HTTP. The resume position travels as `Last-Event-ID` (SSE's own mechanism; for
 * NDJSON too, and as the `resumeParam` query parameter when the upstream names one). Each
 * upstream event comes out with its position: the SSE `id`, or the NDJSON line's
 * `positionField`.
 */
import { createParser } from 'eventsource-parser';

export interface UpstreamSpec {
  /** Names the upstream: the lease (transactional id), the position key, the event source. */
  name: string;
  url: string;
  format: 'sse' | 'ndjson';
  headers?: Record<string, string>;
  /** An environment variable holding a bearer token (kept out of the config). */
  tokenEnv?: string;
  /** NDJSON: the field holding each line's position (default `id`). */
  positionField?: string;
  /** NDJSON: the query parameter carrying the resume position, when the upstream wants one. */
  resumeParam?: string;
}

export interface UpstreamEvent {
  position: string | null;
  /** SSE event name (`event:`), when there is one. */
  name: string | null;
  data: string;
}

export class UpstreamError extends Error {}

/**
 * Connects from `position` and yields events until the upstream ends the stream (then
 * the generator returns) or fails (then it throws); `signal` stops it.
 */
export async function* readUpstream(
  spec: UpstreamSpec,
  position: string | null,
  signal: AbortSignal,
  env: Record<string, string | undefined> = process.env,
): AsyncGenerator<UpstreamEvent> {
  const url = new URL(spec.url);
  if (position !== null && spec.resumeParam) url.searchParams.set(spec.resumeParam, position);
  const headers: Record<string, string> = {
    accept: spec.format === 'sse' ? 'text/event-stream' : 'application/x-ndjson',
    ...spec.headers,
  };
  if (position !== null) headers['last-event-id'] = position;
  const token = spec.tokenEnv ? env[spec.tokenEnv] : undefined;
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url, { headers, signal });
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new UpstreamError(`upstream ${spec.name} answered ${res.status}`);
  }
  const decoder = new TextDecoder();
  const ready: UpstreamEvent[] = [];
  const feed =
    spec.format === 'sse' ? sseFeed(ready) : ndjsonFeed(ready, spec.positionField ?? 'id');
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    feed(decoder.decode(chunk, { stream: true }));
    while (ready.length > 0) yield ready.shift()!;
  }
}

function sseFeed(out: UpstreamEvent[]): (text: string) => void {
  const parser = createParser({
    onEvent: (e) => out.push({ position: e.id ?? null, name: e.event ?? null, data: e.data }),
  });
  return (text) => parser.feed(text);
}

function ndjsonFeed(out: UpstreamEvent[], positionField: string): (text: string) => void {
  let carry = '';
  return (text) => {
    const lines = (carry + text).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      let position: string | null = null;
      try {
        const value = (JSON.parse(line) as Record<string, unknown>)[positionField];
        if (typeof value === 'string' || typeof value === 'number') position = String(value);
      } catch {
        // not JSON: still an event (kept as text), without a position
      }
      out.push({ position, name: null, data: line });
    }
  };
}
