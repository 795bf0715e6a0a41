/**
 * WebSocket streaming ingest on `GET /v1/stream` (Upgrade): the `ws` library without its
 * own server, attached to the edge's HTTP server so one port serves both.
 *
 * - The upgrade request was authenticated by the upgrade router (../upgrades.ts).
 * - Each connection is a `StreamSession` (the protocol, acks and flow control). The first
 *   message the server sends is `{"hello": {"instance": ..., "maxMessageBytes": ...}}`.
 * - A message larger than `maxMessageBytes` closes the connection with 1009 (by `ws`);
 *   binary messages are refused per message (`bad-frame`), not closed.
 * - Keepalive: a ping every `pingIntervalMs`; a peer that missed one pong is terminated.
 *   A stream that sent nothing for `idleTimeoutMs` is closed (1000, "idle timeout").
 * - Shutdown: each stream gets its pending events acknowledged, then closes with 1001;
 *   clients reconnect to another edge and resend after their last ack.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import type { Logger } from '../../../lib/logger';
import type { AuthResult, Credentials } from '../http/auth';
import type { Sink } from '../sink';
import type { SourcePolicy } from '../sources/source-policy';
import { header } from '../upgrades';
import type { Access, UpgradeRoute } from '../upgrades';
import { StreamSession, quotaOf } from './stream-session';
import type { StreamLimits } from './stream-session';

export interface WsStreamDeps {
  sink: Sink;
  logger: Logger;
  instance: string;
  defaultSource: string;
  limits: StreamLimits;
  maxMessageBytes: number;
  pingIntervalMs: number;
  idleTimeoutMs: number;
  /** Absent: an open edge. */
  checkKey?: (c: Credentials) => AuthResult;
  isDraining: () => boolean;
  onAccepted?: (count: number) => void;
  onRejected?: (count: number) => void;
  /** Per-source quotas (sources/source-policy.ts), taken per message; absent: none. */
  sources?: SourcePolicy;
}

export class WsStreamServer implements UpgradeRoute {
  private readonly wss: WebSocketServer;
  private readonly live = new Map<WebSocket, StreamSession>();
  private readonly log: Logger;

  constructor(private readonly deps: WsStreamDeps) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.maxMessageBytes,
      perMessageDeflate: false,
    });
    this.log = deps.logger.child({ module: 'ws-stream' });
  }

  get connections(): number {
    return this.live.size;
  }

  handle(req: IncomingMessage, socket: Duplex, head: Buffer, _url: URL, access: Access): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, req, access.source));
  }

  private serve(ws: WebSocket, req: IncomingMessage, source: string): void {
    const session = new StreamSession({
      sink: this.deps.sink,
      source,
      meta: {
        requestId: header(req, 'x-request-id'),
        ip: req.socket.remoteAddress,
        userAgent: header(req, 'user-agent'),
      },
      limits: this.deps.limits,
      logger: this.log,
      onAccepted: this.deps.onAccepted,
      onRejected: this.deps.onRejected,
      admit: quotaOf(this.deps.sources, source),
      transport: {
        send: (message) => ws.send(JSON.stringify(message)),
        pause: () => ws.pause(),
        resume: () => ws.resume(),
        close: (code, reason) => ws.close(code, reason),
      },
    });
    this.live.set(ws, session);
    let alive = true;
    let lastMessage = Date.now();
    const keepalive = setInterval(
      () => {
        if (!alive) {
          ws.terminate();
          return;
        }
        if (Date.now() - lastMessage > this.deps.idleTimeoutMs) {
          ws.close(1000, 'idle timeout');
          return;
        }
        alive = false;
        ws.ping();
      },
      Math.min(this.deps.pingIntervalMs, this.deps.idleTimeoutMs),
    );
    ws.on('pong', () => {
      alive = true;
    });
    ws.on('message', (data, isBinary) => {
      lastMessage = Date.now();
      if (isBinary) {
        ws.send(JSON.stringify({ error: 'bad-frame', detail: 'Send text messages (JSON lines).' }));
        return;
      }
      // NOTE: binaryType is ws's default 'nodebuffer': a message is one Buffer.
      session.receive((data as Buffer).toString('utf8'));
    });
    ws.on('close', () => {
      clearInterval(keepalive);
      session.close();
      this.live.delete(ws);
    });
    ws.on('error', (err) => this.log.debug({ err }, 'ws_error'));
    ws.send(
      JSON.stringify({
        hello: { instance: this.deps.instance, maxMessageBytes: this.deps.maxMessageBytes },
      }),
    );
  }

  /** Lets every stream's pending events be acknowledged (at most `graceMs`), then closes them. */
  async close(graceMs: number): Promise<void> {
    const settled = [...this.live.values()].map((s) => s.settled());
    await Promise.race([Promise.all(settled), new Promise((r) => setTimeout(r, graceMs))]);
    for (const ws of this.live.keys()) ws.close(1001, 'edge shutting down; reconnect');
    this.wss.close();
  }
}
