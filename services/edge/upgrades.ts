/**
 * The edge's WebSocket upgrade router, beside the HTTP app (app.ts): upgrade requests are
 * routed by path prefix, after the checks every WebSocket route shares:
 *
 * - no route: 404; a draining edge: 503 with Retry-After (clients reconnect elsewhere);
 * - authentication like any /v1 request (a header, or `?api_key=` for browsers, which
 *   cannot set headers on a WebSocket), the source's origins included (a browser sends
 *   `Origin` with the upgrade).
 *
 * Refusals are answered as problem documents before the handshake.
 */
import type { IncomingMessage, Server } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { problem } from '../../lib/http/problem';
import type { ProblemType } from '../../lib/http/problem';
import type { AuthResult, Credentials } from './http/auth';

export interface UpgradeDeps {
  /** Absent: an open edge. */
  checkKey?: (c: Credentials) => AuthResult;
  isDraining: () => boolean;
  defaultSource: string;
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
  deps: UpgradeDeps,
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
      origin: header(req, 'origin'),
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

export function header(req: IncomingMessage, name: string): string | undefined {
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
