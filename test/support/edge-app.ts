/**
 * Starts the edge's HTTP app on a free port for a test, with test defaults for every
 * dependency the test does not give; or an edge writing to a real broker, on either Kafka
 * client.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRegistry } from '../../lib/metrics';
import { createApp } from '../../services/edge/app';
import type { AppDeps } from '../../services/edge/app';
import { createEdgeMetrics } from '../../services/edge/metrics';
import { KafkaSink } from '../../services/edge/sink';
import type { KafkaClient } from '../../lib/kafka/port';
import type { KeyChecker } from '../../services/edge/http/auth';
import { attachUpgrades } from '../../services/edge/upgrades';
import { WebSocket, WebSocketServer } from 'ws';
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

/**
 * WebSocket upgrades of `/v1/stream` on a test app, after the shared checks (`checkKey`),
 * each accepted one closed at once: `upgrade` resolves with the handshake's status.
 */
export function attachTestStream(
  app: TestApp,
  checkKey: KeyChecker,
): { upgrade(key: string, origin?: string): Promise<number>; close(): void } {
  const wss = new WebSocketServer({ noServer: true });
  attachUpgrades(
    app.server,
    {
      '/v1/stream': {
        handle: (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.close(1000)),
      },
    },
    { checkKey, isDraining: () => false, defaultSource: 'test' },
  );
  const port = (app.server.address() as AddressInfo).port;
  return {
    upgrade: (key, origin) =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/stream?api_key=${key}`, { origin });
        ws.on('upgrade', (res) => resolve(res.statusCode ?? 0));
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          res.resume();
        });
        ws.on('error', (err) => (ws.readyState === ws.CLOSED ? undefined : reject(err)));
      }),
    close: () => wss.close(),
  };
}

/** An edge app in this process writing to a real Kafka topic through one producer lane. */
export interface KafkaTestEdge {
  /** One event (id, key) in one request: the answer's status and Retry-After. */
  post(id: string, key: string): Promise<{ status: number; retryAfter: string | null }>;
  close(): Promise<void>;
}

/** Starts a `KafkaTestEdge` on `kafka`'s producer (answering 503 after `ackTimeoutMs`). */
export async function startKafkaTestEdge(
  kafka: KafkaClient,
  topic: string,
  ackTimeoutMs = 3000,
): Promise<KafkaTestEdge> {
  const sink = new KafkaSink({
    producers: [kafka.producer()],
    admin: kafka.admin(),
    topic,
    logger: silentLogger(),
    options: { lingerMs: 2, maxBatchBytes: 1 << 20, maxInFlightBytes: 1 << 24, ackTimeoutMs },
  });
  await sink.start();
  const app = await startTestApp({ sink });
  return {
    async post(id, key) {
      const res = await fetch(`${app.base}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, type: 'page_view', key }),
      });
      await res.text();
      return { status: res.status, retryAfter: res.headers.get('retry-after') };
    },
    async close() {
      await app.close();
      await sink.stop();
    },
  };
}
