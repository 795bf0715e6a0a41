/**
 * A bare client of the chunked NDJSON stream (`POST /v1/stream`, docs/api.md): one request
 * whose body is written as it goes, frames `{"seq": n, "event": {...}}`, and the server's
 * NDJSON answer read line by line (cumulative `{"ack": n}`, per-event errors, the final
 * `{"done": true, ...}`). Knows nothing about resuming: a test does that, from `lastAck`.
 */
import { request } from 'node:http';
import type { ClientRequest } from 'node:http';

export interface ChunkedStream {
  /** The answer's status and the edge that serves it (`X-Intake-Instance`). */
  opened: Promise<{ status: number; instance: string }>;
  /** Writes frames for `events` numbered from `firstSeq`; waits while the socket is full. */
  write(firstSeq: number, events: Record<string, unknown>[]): Promise<void>;
  /** Ends the upload; the server answers `done` once everything was acknowledged. */
  end(): void;
  /** The highest cumulative ack received so far (0 before any). */
  readonly lastAck: number;
  /** Settles when the answer ended (`done` is its last line) or broke off (`done` null). */
  finished: Promise<{ done: Record<string, unknown> | null; errors: unknown[] }>;
}

export function openChunkedStream(url: string, apiKey: string): ChunkedStream {
  let lastAck = 0;
  let done: Record<string, unknown> | null = null;
  const errors: unknown[] = [];
  let req!: ClientRequest;
  let broken: Error | null = null;
  const opened = new Promise<{ status: number; instance: string }>((resolveOpened, fail) => {
    req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${apiKey}` },
    });
    req.flushHeaders(); // the answer starts before any event is written
    req.on('error', (err) => {
      broken = err;
      fail(err);
    });
    req.on('response', (res) => {
      resolveOpened({
        status: res.statusCode ?? 0,
        instance: String(res.headers['x-intake-instance'] ?? ''),
      });
    });
  });
  opened.catch(() => undefined);
  const finished = new Promise<{ done: Record<string, unknown> | null; errors: unknown[] }>(
    (resolve) => {
      req.on('close', () => resolve({ done, errors }));
      req.on('response', (res) => {
        let carry = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          const lines = (carry + chunk).split('\n');
          carry = lines.pop()!;
          for (const line of lines) {
            if (line.trim() === '') continue;
            const message = JSON.parse(line) as Record<string, unknown>;
            if (typeof message.ack === 'number') lastAck = Math.max(lastAck, message.ack);
            if (message.done === true) done = message;
            else if ('error' in message) errors.push(message);
          }
        });
        res.on('error', () => undefined);
        res.on('close', () => resolve({ done, errors }));
      });
    },
  );
  return {
    opened,
    async write(firstSeq, events) {
      const text = events
        .map((event, i) => `${JSON.stringify({ seq: firstSeq + i, event })}\n`)
        .join('');
      if (broken) throw broken;
      if (!req.write(text))
        await new Promise<void>((resolve) => {
          const go = (): void => {
            req.off('drain', go);
            req.off('close', go);
            resolve();
          };
          req.on('drain', go);
          req.on('close', go);
        });
    },
    end: () => req.end(),
    get lastAck() {
      return lastAck;
    },
    finished,
  };
}
