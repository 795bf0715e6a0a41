/**
 * The edge's HTTP server for an express app. Its requests and responses are made with the
 * app's express prototypes (`app.request`, `app.response`) in their chain from the start,
 * so the events fast path (events-fast-path.ts) does not change an object's prototype per
 * request, which V8 makes costly (a new hidden class for the object, and slower property
 * access after it). Express' `app.handle` still sets them for the requests the fast path
 * hands on, as with any server.
 */
import { IncomingMessage, ServerResponse, createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Express } from 'express';

export function appServer(app: Express): Server {
  class AppRequest extends IncomingMessage {}
  Object.setPrototypeOf(AppRequest.prototype, app.request);
  class AppResponse<
    Request extends IncomingMessage = IncomingMessage,
  > extends ServerResponse<Request> {}
  Object.setPrototypeOf(AppResponse.prototype, app.response);
  return createServer({ IncomingMessage: AppRequest, ServerResponse: AppResponse }, app);
}

/**
 * Connections waiting to be accepted: a burst from nginx (up to its bound on requests in
 * flight, infra/nginx/nginx.conf.tmpl) waits in the queue instead of timing out on connect
 * (Node's default is 511; the kernel caps it at net.core.somaxconn).
 */
export const LISTEN_BACKLOG = 4096;

/** Listens as `app.listen` does, resolving with the server once it listens. */
export function listen(server: Server, port: number, host: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
