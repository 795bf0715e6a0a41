/**
 * WebSocket streaming ingest on `GET /v1/stream` (Upgrade): the `ws` library without its
 * own server, attached to the edge's HTTP server so one port serves both.
 *
 * - The upgrade request is authenticated like any /v1 request (a header, or `?api_key=`
 *   for browsers, which cannot set headers on a WebSocket); refusals are answered as
 *   problem documents before the handshake.
 * - Each connection is a `StreamSession` (the protocol, acks and flow control). The first
 *   message the server sends is `{"hello": {"instance": ..., "maxMessageBytes": ...}}`.
 * - A message larger than `maxMessageBytes` closes the connection with 1009 (by `ws`);
 *   binary messages are refused per message (`bad-frame`), not closed.
 * - Keepalive: a ping every `pingIntervalMs`; a peer that missed one pong is terminated.
 *   A stream that sent nothing for `idleTimeoutMs` is closed (1000, "idle timeout").
 * - Shutdown: each stream gets its pending events acknowledged, then closes with 1001;
 *   clients reconnect to another edge and resend after their last ack.
 */
import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';
import { problem } from '../../../lib/http/problem';
import type { ProblemType } from '../../../lib/http/problem';
import type { Logger } from '../../../lib/logger';
import type { AuthResult, Credentials } from '../http/auth';
import type { Sink } from '../sink';
import { StreamSession } from './stream-session';
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
}

/** Who the upgrade request is: the source it writes as, the topics it may read. */
export interface Access {
  source: string;
  topics: ReadonlySet<string>;
}

export interface UpgradeRoute {
  /** Answers or upgrades a request that passed the shared checks. */
  handle(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL, access: Access): void;
}

/** Routes upgrade requests by path, after the checks every WebSocket route shares. */
export function attachUpgrades(
  server: Server,
  routes: Record<string, UpgradeRoute>,
  deps: Pick<WsStreamDeps, 'checkKey' | 'isDraining' | 'defaultSource'>,
): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://edge');
    const route = Object.entries(routes).find(([prefix]) => url.pathname.startsWith(prefix))?.[1];
    if (!route) {
      refuseUpgrade(socket, 'not-found', `No WebSocket route at ${url.pathname}; see docs/api.md.`);
      return;
    }
    if (deps.isDraining()) {
      refuseUpgrade(socket, 'shutting-down', 'This edge is shutting down; reconnect.', 1);
      return;
    }
    const auth = deps.checkKey?.({
      authorization: header(req, 'authorization'),
      apiKey: header(req, 'x-api-key'),
      queryKey: url.searchParams.get('api_key') ?? undefined,
      ip: req.socket.remoteAddress,
    }) ?? { ok: true, source: null, topics: new Set(['*']) };
    if (!auth.ok) {
      refuseUpgrade(socket, auth.problem, auth.detail, auth.retryAfterSeconds);
      return;
    }
    route.handle(req, socket, head, url, {
      source: auth.source ?? deps.defaultSource,
      topics: auth.topics,
    });
  });
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

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return typeof v === 'string' ? v : undefined;
}

/** Answers an upgrade request with a problem document and closes the socket. */
export function refuseUpgrade(
  socket: Duplex,
  type: ProblemType,
  detail: string,
  retryAfterSeconds?: number,
): void {
  const body = JSON.stringify(problem(type, detail));
  const status = problem(type, detail).status;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      (retryAfterSeconds !== undefined ? `Retry-After: ${retryAfterSeconds}\r\n` : '') +
      'Connection: close\r\n\r\n' +
      body,
  );
}
