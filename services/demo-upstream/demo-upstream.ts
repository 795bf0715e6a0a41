/**
 * The demo upstream as a component: the numbered SSE stream (`GET /events`) and, on the
 * same port, `/healthz`, `/readyz` (ready while listening and not stopping) and
 * `/metrics` (prom-client: connections served, highest event number sent, Node's defaults).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge } from 'prom-client';
import { adminRoutes } from '../../lib/http/admin-server';
import type { Health } from '../../lib/lifecycle';
import { createRegistry } from '../../lib/metrics';
import { createNumberedSse } from './numbered-sse';

export interface DemoUpstreamOptions {
  host: string;
  port: number;
  ratePerSecond: number;
  instance: string;
}

export interface DemoUpstream {
  server: Server;
  /** The port it listens on (the one asked for, or the one given for 0). */
  port: number;
  health(): Health;
  /** Not ready at once; then closes every connection and the listener. */
  stop(): Promise<void>;
}

export async function startDemoUpstream(options: DemoUpstreamOptions): Promise<DemoUpstream> {
  const registry = createRegistry('demo-upstream', options.instance);
  let stopping = false;
  const health = (): Health => ({
    ok: !stopping,
    details: { connections: sse.connections, highest: sse.highest },
  });
  const sse = createNumberedSse({
    ratePerSecond: options.ratePerSecond,
    otherRoutes: adminRoutes({ registry, instance: options.instance, readiness: health }),
  });
  new Gauge({
    name: 'intake_demo_upstream_connections',
    help: 'SSE connections served since start',
    registers: [registry],
    collect() {
      this.set(sse.connections);
    },
  });
  new Gauge({
    name: 'intake_demo_upstream_highest_event',
    help: 'Highest event number sent on any connection',
    registers: [registry],
    collect() {
      this.set(sse.highest);
    },
  });
  await new Promise<void>((resolve, reject) => {
    sse.server.once('error', reject);
    sse.server.listen(options.port, options.host, resolve);
  });
  return {
    server: sse.server,
    port: (sse.server.address() as AddressInfo).port,
    health,
    async stop() {
      stopping = true;
      sse.server.closeAllConnections();
      await new Promise<void>((resolve) => sse.server.close(() => resolve()));
    },
  };
}
