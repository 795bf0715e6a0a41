/**
 * A tiny admin HTTP server for services without a public API (worker, puller):
 * `/healthz` (process alive), `/readyz` (the service's own readiness) and `/metrics`.
 */
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Health } from '../lifecycle';

export interface AdminServerDeps {
  host: string;
  port: number;
  registry: Registry;
  instance: string;
  readiness: () => Health;
}

export async function startAdminServer(deps: AdminServerDeps): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return json(405, { status: 'method-not-allowed' });
    if (path === '/healthz') return json(200, { status: 'ok', instance: deps.instance });
    if (path === '/readyz') {
      const health = deps.readiness();
      return json(health.ok ? 200 : 503, {
        status: health.ok ? 'ready' : 'not-ready',
        instance: deps.instance,
        ...health,
      });
    }
    if (path === '/metrics') {
      deps.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': deps.registry.contentType }).end(text),
        () => json(500, { status: 'metrics-failed' }),
      );
      return;
    }
    return json(404, { status: 'not-found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.port, deps.host, () => resolve());
  });
  return server;
}
