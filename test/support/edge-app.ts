/**
 * Starts the edge's HTTP app on a free port for a test, with test defaults for every
 * dependency the test does not give.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRegistry } from '../../lib/metrics';
import { createApp } from '../../services/edge/app';
import type { AppDeps } from '../../services/edge/app';
import { createEdgeMetrics } from '../../services/edge/metrics';
import { silentLogger } from './fakes';

export interface TestApp {
  server: Server;
  base: string;
  close(): Promise<void>;
}

export async function startTestApp(
  deps: Partial<AppDeps> & Pick<AppDeps, 'sink'>,
): Promise<TestApp> {
  const app = createApp({
    logger: silentLogger(),
    metrics: createEdgeMetrics(createRegistry('edge', 'test'), { inFlightBytes: () => 0 }),
    instance: 'edge-test',
    maxBodyBytes: 64 * 1024,
    maxEventsPerRequest: 100,
    defaultSource: 'test',
    isDraining: () => false,
    ...deps,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    server,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
