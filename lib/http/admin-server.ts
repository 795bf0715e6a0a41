/**
 * A tiny admin HTTP server for services without a public API (worker, puller):
 * `/healthz` (process alive), `/readyz` (the service's own readiness) and `/metrics`.
 * `adminRoutes` answers the same three routes inside another server (the demo upstream's).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { Health } from '../lifecycle';

export interface AdminRoutesDeps {
  registry: Registry;
  instance: string;
  readiness: () => Health;
}

export interface AdminServerDeps extends AdminRoutesDeps {
  host: string;
  port: number;
}

/** Answers `GET /healthz`, `/readyz` and `/metrics`; returns false for any other request. */
export function adminRoutes(
  deps: AdminRoutesDeps,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') return false;
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET') json(405, { status: 'method-not-allowed' });
    else if (path === '/healthz') json(200, { status: 'ok', instance: deps.instance });
    else if (path === '/readyz') {
      const health = deps.readiness();
      json(health.ok ? 200 : 503, {
        status: health.ok ? 'ready' : 'not-ready',
        instance: deps.instance,
        ...health,
      });
    } else {
      deps.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': deps.registry.contentType }).end(text),
        () => json(500, { status: 'metrics-failed' }),
      );
    }
    return true;
  };
}

export async function startAdminServer(deps: AdminServerDeps): Promise<Server> {
  const routes = adminRoutes(deps);
  const server = createServer((req, res) => {
    if (routes(req, res)) return;
    const status = req.method === 'GET' ? 404 : 405;
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(JSON.stringify({ status: status === 404 ? 'not-found' : 'method-not-allowed' }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host, () => resolve());
  });
  return server;
}
