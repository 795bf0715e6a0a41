/**
 * An SSE reader for tests, over fetch: opens a subscription and collects its events
 * (parsed by `eventsource-parser`, as the puller does) until closed. Events without data
 * are skipped; heartbeats are comments and never reach `events`.
 */
import { createParser } from 'eventsource-parser';

export interface SseEvent {
  id?: string;
  event?: string;
  data: string;
}

export interface SseSubscription {
  /** Every event received so far, in order. */
  events: SseEvent[];
  /** The response, once its headers arrived. */
  opened: Promise<Response>;
  /** Aborts the request. */
  close: () => void;
  /** Resolves when the stream ended or was closed. */
  done: Promise<void>;
}

export function subscribeSse(url: string, headers: Record<string, string> = {}): SseSubscription {
  const events: SseEvent[] = [];
  const controller = new AbortController();
  const opened = fetch(url, { headers, signal: controller.signal });
  const parser = createParser({
    onEvent: (e) => {
      if (e.data) events.push({ id: e.id, event: e.event, data: e.data });
    },
  });
  const done = opened.then(async (res) => {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(chunk, { stream: true }));
      }
    } catch {
      // aborted
    }
  });
  return { events, opened, close: () => controller.abort(), done };
}
