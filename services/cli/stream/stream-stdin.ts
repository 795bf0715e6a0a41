/**
 * `intake stream`: sends NDJSON events from stdin over one WebSocket stream with the
 * reconnecting client (each line one event), showing acknowledged events as they come,
 * and exits 0 only once every event was acknowledged (refused ones are listed on stderr).
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { SingleBar } from 'cli-progress';
import { StreamClient } from '../../../lib/client/stream-client';

export interface StreamStdinOptions {
  url: string;
  apiKey: string | undefined;
  input: Readable;
  /** Progress on stderr when it is a terminal. */
  progress: boolean;
}

export interface StreamSummary {
  sent: number;
  acked: number;
  rejected: number;
  reconnects: number;
  seconds: number;
}

export async function streamStdin(o: StreamStdinOptions): Promise<StreamSummary> {
  const started = Date.now();
  // NOTE: set from the client's callback, so held in an object TypeScript does not narrow.
  const refusal: { status: number | null } = { status: null };
  let sent = 0;
  const client = new StreamClient({
    url: o.url,
    apiKey: o.apiKey,
    onEvent: (e) => {
      if (e.kind === 'rejected') process.stderr.write(`event ${e.seq} refused: ${e.error}\n`);
      if (e.kind === 'refused') refusal.status = e.status;
    },
  });
  const bar = o.progress
    ? new SingleBar({ format: 'streaming {bar} {acked} acked of {sent} sent', hideCursor: true })
    : null;
  bar?.start(1, 0, { acked: 0, sent: 0 });
  const update = (): void => {
    bar?.setTotal(Math.max(1, sent));
    bar?.update(client.lastAck, { acked: client.lastAck, sent });
  };
  const timer = setInterval(update, 200);
  try {
    for await (const line of createInterface({ input: o.input, crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch {
        process.stderr.write(`line ${sent + 1} is not JSON; skipped\n`);
        continue;
      }
      if (refusal.status !== null) break;
      await client.send(event);
      sent += 1;
    }
    if (refusal.status !== null)
      throw new Error(
        `the edge refused the stream (HTTP ${refusal.status}); check the URL and API key`,
      );
    await client.drain();
  } finally {
    clearInterval(timer);
    update();
    bar?.stop();
    client.close();
  }
  return {
    sent,
    acked: client.lastAck,
    rejected: client.stats.rejected,
    reconnects: client.stats.reconnects,
    seconds: (Date.now() - started) / 1000,
  };
}
