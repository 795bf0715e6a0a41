/**
 * A streaming client for `/v1/stream` (WebSocket) that loses nothing: every event gets a
 * sequence number and an id (UUIDv7, unless it has one) and stays in a bounded window
 * until the edge acknowledged it. When the connection drops (an edge restarted, Kafka
 * was unavailable, a network fault), the client reconnects with backoff, through the
 * balancer and so usually to another edge, and resends everything after the last ack;
 * the ids make those resends idempotent downstream.
 *
 *     const client = new StreamClient({ url: 'ws://127.0.0.1:8080/v1/stream', apiKey });
 *     for (const e of events) await client.send(e); // waits while the window is full
 *     await client.drain();                          // every event acknowledged
 *     client.close();
 */
import { WebSocket } from 'ws';
import { uuidv7 } from '../uuid7';

export interface StreamClientOptions {
  url: string;
  apiKey?: string;
  /** Events sent and not yet acknowledged, at most (then `send` waits). */
  window?: number;
  /** Events per WebSocket message. */
  batchSize?: number;
  /** Reconnect backoff: first delay and ceiling, in ms (doubling, with jitter). */
  backoffMs?: { initial: number; max: number };
  /** Extra headers on the upgrade request. */
  headers?: Record<string, string>;
  onEvent?: (e: StreamClientEvent) => void;
}

export type StreamClientEvent =
  | { kind: 'connected'; instance: string }
  | { kind: 'disconnected'; code: number; reason: string }
  | { kind: 'rejected'; seq: number; error: string }
  | { kind: 'refused'; status: number };

interface Pending {
  seq: number;
  line: string;
  bytes: number;
}

type ServerMessage = {
  hello?: { instance: string; maxMessageBytes?: number };
  ack?: number;
  seq?: number;
  error?: string;
  retryAfter?: number;
};

export class StreamClient {
  private readonly window: number;
  private readonly batchSize: number;
  private readonly backoff: { initial: number; max: number };
  private readonly unacked: Pending[] = [];
  private nextSeq = 1;
  private acked = 0;
  /** The last seq written to the current connection. */
  private sentUpTo = 0;
  private ws: WebSocket | null = null;
  private open = false;
  private closed = false;
  private attempt = 0;
  /** The edge's message size limit, from its hello. */
  private maxMessageBytes = 1024 * 1024;
  private retryAfterMs = 0;
  private flushTimer: NodeJS.Timeout | null = null;
  private waiters: (() => void)[] = [];
  readonly stats = { acked: 0, rejected: 0, reconnects: 0, instances: [] as string[] };

  constructor(private readonly options: StreamClientOptions) {
    this.window = options.window ?? 10_000;
    this.batchSize = options.batchSize ?? 200;
    this.backoff = options.backoffMs ?? { initial: 100, max: 5000 };
    this.connect();
  }

  /** Queues one event; resolves once it fits the window (not when it is acknowledged). */
  async send(event: Record<string, unknown>): Promise<number> {
    while (this.unacked.length >= this.window) await this.changed();
    if (this.closed) throw new Error('the stream client is closed');
    const seq = this.nextSeq++;
    const withId = event.id === undefined ? { ...event, id: uuidv7() } : event;
    const line = JSON.stringify({ seq, event: withId });
    this.unacked.push({ seq, line, bytes: Buffer.byteLength(line) });
    this.scheduleFlush();
    return seq;
  }

  /** Resolves once every event sent so far was acknowledged (or refused). */
  async drain(): Promise<void> {
    const last = this.nextSeq - 1;
    while (this.acked < last) {
      if (this.closed) throw new Error('the stream client closed before its events were acked');
      await this.changed();
    }
  }

  get lastAck(): number {
    return this.acked;
  }

  close(): void {
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.ws?.close(1000, 'done');
    this.notify();
  }

  private connect(): void {
    if (this.closed) return;
    const headers: Record<string, string> = { ...this.options.headers };
    if (this.options.apiKey) headers.authorization = `Bearer ${this.options.apiKey}`;
    const ws = new WebSocket(this.options.url, { headers, perMessageDeflate: false });
    this.ws = ws;
    ws.on('open', () => {
      this.open = true;
      this.attempt = 0;
      this.sentUpTo = this.acked; // resend everything after the last ack
      this.scheduleFlush();
    });
    ws.on('message', (data: Buffer) =>
      this.onMessage(JSON.parse(data.toString()) as ServerMessage),
    );
    ws.on('close', (code, reason) => {
      this.open = false;
      this.options.onEvent?.({ kind: 'disconnected', code, reason: reason.toString() });
      this.reconnectLater();
    });
    // NOTE: 'close' follows every 'error', so reconnecting happens there.
    ws.on('error', () => undefined);
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      // A refused key or a wrong URL does not heal by retrying: stop, and say so.
      if (status === 401 || status === 403 || status === 404) {
        this.options.onEvent?.({ kind: 'refused', status });
        this.close();
      }
      this.retryAfterMs = Number(res.headers['retry-after'] ?? 0) * 1000;
      ws.terminate();
    });
  }

  private reconnectLater(): void {
    if (this.closed) return;
    this.stats.reconnects += 1;
    const exp = Math.min(this.backoff.max, this.backoff.initial * 2 ** this.attempt);
    const delay = Math.max(this.retryAfterMs, exp / 2 + Math.random() * (exp / 2));
    this.attempt += 1;
    this.retryAfterMs = 0;
    setTimeout(() => this.connect(), delay).unref();
  }

  private onMessage(m: ServerMessage): void {
    if (m.hello) {
      this.stats.instances.push(m.hello.instance);
      this.maxMessageBytes = m.hello.maxMessageBytes ?? this.maxMessageBytes;
      this.options.onEvent?.({ kind: 'connected', instance: m.hello.instance });
    }
    if (typeof m.seq === 'number' && m.error) {
      this.stats.rejected += 1;
      this.options.onEvent?.({ kind: 'rejected', seq: m.seq, error: m.error });
    }
    if (m.error === 'unavailable' && m.retryAfter) this.retryAfterMs = m.retryAfter * 1000;
    if (typeof m.ack === 'number' && m.ack > this.acked) {
      let dropped = 0;
      while (this.unacked.length > 0 && this.unacked[0]!.seq <= m.ack) {
        this.unacked.shift();
        dropped += 1;
      }
      this.stats.acked += dropped;
      this.acked = m.ack;
      this.notify();
    }
  }

  private scheduleFlush(): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = null;
      this.flush();
    }, 0);
  }

  /** Writes what the connection has not seen yet, while its send buffer is small. */
  private flush(): void {
    const ws = this.ws;
    if (!ws || !this.open) return;
    let i = this.unacked.findIndex((p) => p.seq > this.sentUpTo);
    if (i < 0) return;
    while (i < this.unacked.length && ws.bufferedAmount < 1024 * 1024) {
      // A message holds up to batchSize events and stays within the edge's message limit.
      const lines: string[] = [];
      let bytes = 0;
      while (i < this.unacked.length && lines.length < this.batchSize) {
        const next = this.unacked[i]!;
        if (lines.length > 0 && bytes + next.bytes + 1 > this.maxMessageBytes) break;
        lines.push(next.line);
        bytes += next.bytes + 1;
        i += 1;
      }
      ws.send(lines.join('\n'));
      this.sentUpTo = this.unacked[i - 1]!.seq;
    }
    if (i < this.unacked.length)
      this.flushTimer ??= setTimeout(() => {
        this.flushTimer = null;
        this.flush();
      }, 5);
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }
}
