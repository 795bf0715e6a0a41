/**
 * A TCP fault proxy for the network fault scenarios: it sits between the fleet's edges and
 * workers and the broker (node:net only) and breaks the connections on demand.
 *
 * Modes:
 * - `pass`: bytes flow both ways; a close or reset on one side is passed to the other.
 * - `blackhole`: a cut. Open connections stay open but no byte passes either way (reading
 *   stops, so the bytes wait in the kernel's buffers as a partitioned network's
 *   retransmissions would); a new connection is accepted but never reaches the broker, so
 *   the client's first request hangs. Healing delivers what waited, in order.
 * - `latency`: every chunk, both ways, and every new connection to the broker, is delayed
 *   by `ms` (order kept).
 * - `resetAll()` (an action, not a mode): every open connection is closed abruptly with a
 *   TCP RST on both sides.
 *
 * Choice: a proxy rather than network namespaces with tc/iptables, because it needs no
 * privileges, is set up and torn down by the test itself, and breaks exactly the fleet's
 * connections to Kafka (tools, the audit and the test's admin client use the broker's
 * direct listener). It runs as a child process (see `main` below, with a small HTTP control
 * port) so the load generator's event loop cannot delay it.
 */
import { createServer as createHttpServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { parseArgs } from 'node:util';

export type ProxyMode = { kind: 'pass' } | { kind: 'blackhole' } | { kind: 'latency'; ms: number };

export interface ProxyStats {
  mode: ProxyMode;
  /** Connections open now. */
  open: number;
  /** Connections accepted since the start. */
  accepted: number;
  /** Connections closed by `resetAll`. */
  reset: number;
}

/** One direction of one connection: reads `from`, writes `to`, holding chunks while told to. */
class Direction {
  private readonly queue: { chunk: Buffer; due: number }[] = [];
  private timer: NodeJS.Timeout | null = null;
  private ended = false;
  private waitingForDrain = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly mode: () => ProxyMode,
  ) {
    from.on('data', (chunk: Buffer) => {
      const m = this.mode();
      this.queue.push({ chunk, due: Date.now() + (m.kind === 'latency' ? m.ms : 0) });
      this.flush();
    });
    from.on('end', () => {
      this.ended = true;
      this.flush();
    });
    this.sync();
  }

  /** Re-applies the mode: reads stop during a cut, and held chunks go when it heals. */
  sync(): void {
    if (this.mode().kind === 'blackhole' || this.waitingForDrain) this.from.pause();
    else this.from.resume();
    this.flush();
  }

  private flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.mode().kind === 'blackhole' || this.to.destroyed) return;
    const now = Date.now();
    while (this.queue.length > 0 && this.queue[0]!.due <= now) {
      if (!this.to.write(this.queue.shift()!.chunk)) {
        this.waitingForDrain = true;
        this.from.pause();
        this.to.once('drain', () => {
          this.waitingForDrain = false;
          this.sync();
        });
      }
    }
    if (this.queue.length > 0) {
      this.timer = setTimeout(() => this.flush(), this.queue[0]!.due - now);
    } else if (this.ended) {
      this.to.end();
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}

/** A client connection and, once the mode lets it through, its connection to the target. */
class Link {
  private upstream: Socket | null = null;
  private directions: Direction[] = [];
  private connectTimer: NodeJS.Timeout | null = null;
  closed = false;

  constructor(
    private readonly client: Socket,
    private readonly target: { host: string; port: number },
    private readonly mode: () => ProxyMode,
    private readonly onClose: (link: Link) => void,
  ) {
    client.pause();
    client.on('error', () => this.close(true));
    client.on('close', () => this.close(false));
    this.sync();
  }

  /** Applies the current mode: connects to the target when allowed, pauses or resumes. */
  sync(): void {
    if (this.closed) return;
    if (this.upstream) {
      for (const d of this.directions) d.sync();
      return;
    }
    const m = this.mode();
    if (m.kind === 'blackhole' || this.connectTimer) return;
    this.connectTimer = setTimeout(
      () => {
        this.connectTimer = null;
        if (!this.closed) this.open();
      },
      m.kind === 'latency' ? m.ms : 0,
    );
  }

  private open(): void {
    const upstream = connect(this.target.port, this.target.host);
    this.upstream = upstream;
    upstream.on('error', () => this.close(true));
    upstream.on('close', () => this.close(false));
    upstream.on('connect', () => {
      this.directions = [
        new Direction(this.client, upstream, this.mode),
        new Direction(upstream, this.client, this.mode),
      ];
    });
  }

  /** Closes both sides; `abrupt` sends a TCP RST (as the peer's failure did). */
  close(abrupt: boolean): void {
    if (this.closed) return;
    this.closed = true;
    if (this.connectTimer) clearTimeout(this.connectTimer);
    for (const d of this.directions) d.stop();
    for (const s of [this.client, this.upstream]) {
      if (!s || s.destroyed) continue;
      if (abrupt) s.resetAndDestroy();
      else s.end();
    }
    this.onClose(this);
  }
}

export class TcpFaultProxy {
  private readonly server: Server;
  private readonly links = new Set<Link>();
  private current: ProxyMode = { kind: 'pass' };
  private accepted = 0;
  private resets = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
      this.accepted += 1;
      const link = new Link(
        client,
        this.target,
        () => this.current,
        (l) => this.links.delete(l),
      );
      if (!link.closed) this.links.add(link);
    });
  }

  /** Listens on 127.0.0.1 (`port` 0: any free port); resolves with the port. */
  listen(port = 0): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () =>
        resolve((this.server.address() as AddressInfo).port),
      );
    });
  }

  get mode(): ProxyMode {
    return this.current;
  }

  setMode(mode: ProxyMode): void {
    this.current = mode;
    for (const link of this.links) link.sync();
  }

  /** Closes every open connection with a TCP RST on both sides; returns how many. */
  resetAll(): number {
    const links = [...this.links];
    for (const link of links) link.close(true);
    this.resets += links.length;
    return links.length;
  }

  stats(): ProxyStats {
    return {
      mode: this.current,
      open: this.links.size,
      accepted: this.accepted,
      reset: this.resets,
    };
  }

  async close(): Promise<void> {
    this.resetAll();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * The control port: `GET /` -> stats, `PUT /mode` with `{"kind":"blackhole"}` (or pass,
 * or `{"kind":"latency","ms":300}`), `POST /reset` -> `{"reset": n}`.
 */
export function controlServer(proxy: TcpFaultProxy): HttpServer {
  return createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const reply = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      try {
        if (req.method === 'GET' && req.url === '/') return reply(200, proxy.stats());
        if (req.method === 'POST' && req.url === '/reset')
          return reply(200, { reset: proxy.resetAll() });
        if (req.method === 'PUT' && req.url === '/mode') {
          proxy.setMode(parseMode(JSON.parse(body)));
          return reply(200, proxy.stats());
        }
        reply(404, { error: `no ${req.method} ${req.url}` });
      } catch (err) {
        reply(400, { error: (err as Error).message });
      }
    });
  });
}

export function parseMode(value: unknown): ProxyMode {
  const v = value as { kind?: unknown; ms?: unknown };
  if (v?.kind === 'pass' || v?.kind === 'blackhole') return { kind: v.kind };
  if (v?.kind === 'latency' && typeof v.ms === 'number' && v.ms >= 0 && v.ms <= 60_000)
    return { kind: 'latency', ms: v.ms };
  throw new Error('mode must be {"kind":"pass"|"blackhole"} or {"kind":"latency","ms":0..60000}');
}

/** A client of the control port (the scenarios drive the proxy child through it). */
export class FaultProxyControl {
  constructor(private readonly port: number) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.port}${path}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!res.ok)
      throw new Error(`fault proxy ${method} ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  setMode(mode: ProxyMode): Promise<ProxyStats> {
    return this.call('PUT', '/mode', mode);
  }

  async resetAll(): Promise<number> {
    return (await this.call<{ reset: number }>('POST', '/reset')).reset;
  }

  stats(): Promise<ProxyStats> {
    return this.call('GET', '/');
  }
}

/** `node tcp-fault-proxy.js --listen PORT --target HOST:PORT --control PORT` */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      listen: { type: 'string' },
      target: { type: 'string' },
      control: { type: 'string' },
    },
  });
  const [host, port] = (values.target ?? '').split(':');
  if (!values.listen || !values.control || !host || !port) {
    throw new Error('usage: tcp-fault-proxy --listen PORT --target HOST:PORT --control PORT');
  }
  const proxy = new TcpFaultProxy({ host, port: Number(port) });
  await proxy.listen(Number(values.listen));
  await new Promise<void>((resolve) =>
    controlServer(proxy).listen(Number(values.control), '127.0.0.1', resolve),
  );
  console.log(
    `tcp-fault-proxy: 127.0.0.1:${values.listen} -> ${values.target}, control on ${values.control}`,
  );
  process.on('SIGTERM', () => process.exit(0));
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
