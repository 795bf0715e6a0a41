/**
 * A numbered Server-Sent Events stream: the demo upstream of the local fleet and the
 * upstream of the puller's tests. `GET /events` emits `id: n` events with
 * `{"type":"demo_tick","id":"demo-<n>","key":"demo-visitor-<n mod 10>","data":{"n":n}}`
 * at `ratePerSecond`, starting after `Last-Event-ID` (or `?after=`) when given, so a
 * client that resumes gets exactly what follows its position. `total` ends the sequence;
 * `dropEvery` closes each connection after that many events (an unreliable upstream).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface NumberedSseOptions {
  ratePerSecond: number;
  /** Last event number (inclusive); the stream stays open, idle, after it. */
  total?: number;
  /** Close each connection after this many events. */
  dropEvery?: number;
  /** Answers requests other than `GET /events` (true when it did); the rest are 404. */
  otherRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface NumberedSse {
  server: Server;
  /** Connections served so far. */
  connections: number;
  /** The highest event number sent on any connection. */
  highest: number;
}

export function demoEvent(n: number): string {
  return JSON.stringify({
    type: 'demo_tick',
    id: `demo-${n}`,
    key: `demo-visitor-${n % 10}`,
    data: { n },
  });
}

export function createNumberedSse(options: NumberedSseOptions): NumberedSse {
  const state: NumberedSse = { server: null as unknown as Server, connections: 0, highest: 0 };
  const tick = Math.max(1, Math.round(1000 / options.ratePerSecond));
  const perTick = Math.max(1, Math.round(options.ratePerSecond / (1000 / tick)));
  state.server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream');
    if (options.otherRoutes?.(req, res)) return;
    if (url.pathname !== '/events') {
      res.writeHead(404).end();
      return;
    }
    state.connections += 1;
    const after = Number(req.headers['last-event-id'] ?? url.searchParams.get('after') ?? 0);
    let n = Number.isSafeInteger(after) && after > 0 ? after : 0;
    let sent = 0;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    res.write(': numbered events\n\n');
    const timer = setInterval(() => {
      for (let i = 0; i < perTick; i++) {
        if (options.total !== undefined && n >= options.total) return;
        n += 1;
        sent += 1;
        state.highest = Math.max(state.highest, n);
        res.write(`id: ${n}\nevent: demo_tick\ndata: ${demoEvent(n)}\n\n`);
        if (options.dropEvery !== undefined && sent >= options.dropEvery) {
          clearInterval(timer);
          res.socket?.destroy();
          return;
        }
      }
    }, tick);
    req.on('close', () => clearInterval(timer));
  });
  return state;
}
