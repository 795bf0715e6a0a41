/**
 * The fault scenarios' TCP proxy (test/faults/tcp-fault-proxy.ts) on real sockets: an echo
 * server behind it, a client in front.
 */
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import {
  FaultProxyControl,
  TcpFaultProxy,
  controlServer,
  parseMode,
} from '../faults/tcp-fault-proxy';

let echo: Server;
let echoPort: number;
let serverSockets: Socket[] = [];
let proxy: TcpFaultProxy;
let proxyPort: number;
const clients: Socket[] = [];

beforeEach(async () => {
  serverSockets = [];
  echo = createServer((s) => {
    serverSockets.push(s);
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as AddressInfo).port;
  proxy = new TcpFaultProxy({ host: '127.0.0.1', port: echoPort });
  proxyPort = await proxy.listen();
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await proxy.close();
  for (const s of serverSockets) s.destroy();
  await new Promise<void>((r) => echo.close(() => r()));
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function client(): Promise<{ socket: Socket; received: () => string; errors: string[] }> {
  const socket = connect(proxyPort, '127.0.0.1');
  clients.push(socket);
  let data = '';
  const errors: string[] = [];
  socket.on('data', (c: Buffer) => (data += c.toString()));
  socket.on('error', (e: NodeJS.ErrnoException) => errors.push(e.code ?? e.message));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return { socket, received: () => data, errors };
}

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('TcpFaultProxy', () => {
  it('passes bytes both ways in pass mode', async () => {
    const c = await client();
    c.socket.write('hello');
    await until(() => c.received() === 'hello');
    expect(proxy.stats()).toMatchObject({ open: 1, accepted: 1, mode: { kind: 'pass' } });
  });

  it('in a blackhole holds the bytes of open connections and new connections, and delivers them when healed', async () => {
    const open = await client();
    open.socket.write('a');
    await until(() => open.received() === 'a');
    proxy.setMode({ kind: 'blackhole' });
    open.socket.write('b');
    const fresh = await client(); // the kernel accepts; the broker never sees it
    fresh.socket.write('c');
    await sleep(300);
    expect(open.received()).toBe('a');
    expect(fresh.received()).toBe('');
    expect(serverSockets).toHaveLength(1);
    proxy.setMode({ kind: 'pass' });
    await until(() => open.received() === 'ab' && fresh.received() === 'c');
    expect(serverSockets).toHaveLength(2);
    expect(open.errors).toEqual([]);
  });

  it('delays every chunk both ways in latency mode', async () => {
    const c = await client();
    proxy.setMode({ kind: 'latency', ms: 150 });
    const sent = Date.now();
    c.socket.write('x');
    await until(() => c.received() === 'x');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(290); // 150 ms each way
    proxy.setMode({ kind: 'pass' });
    const again = Date.now();
    c.socket.write('y');
    await until(() => c.received() === 'xy');
    expect(Date.now() - again).toBeLessThan(150);
  });

  it('resets every open connection on both sides, and accepts new ones after', async () => {
    const a = await client();
    const b = await client();
    await until(() => serverSockets.length === 2);
    const serverErrors: string[] = [];
    for (const s of serverSockets)
      s.on('error', (e: NodeJS.ErrnoException) => serverErrors.push(e.code ?? ''));
    expect(proxy.resetAll()).toBe(2);
    await until(() => a.errors.includes('ECONNRESET') && b.errors.includes('ECONNRESET'));
    await until(() => serverErrors.filter((e) => e === 'ECONNRESET').length === 2);
    expect(proxy.stats()).toMatchObject({ open: 0, reset: 2 });
    const c = await client();
    c.socket.write('z');
    await until(() => c.received() === 'z');
  });

  it('resets the client when the target refuses the connection', async () => {
    await new Promise<void>((r) => echo.close(() => r()));
    echo = createServer(); // afterEach closes it
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const c = await client();
    await until(() => c.errors.includes('ECONNRESET'));
  });

  it('is driven through its control port', async () => {
    const http: HttpServer = controlServer(proxy);
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    try {
      const control = new FaultProxyControl((http.address() as AddressInfo).port);
      await control.setMode({ kind: 'latency', ms: 20 });
      expect(proxy.mode).toEqual({ kind: 'latency', ms: 20 });
      const c = await client();
      expect(await control.resetAll()).toBe(1);
      await until(() => c.errors.includes('ECONNRESET'));
      expect((await control.stats()).reset).toBe(1);
      await expect(control.setMode({ kind: 'nope' } as never)).rejects.toThrow(/400/);
    } finally {
      http.close();
    }
  });

  it('parses modes and refuses anything else', () => {
    expect(parseMode({ kind: 'blackhole' })).toEqual({ kind: 'blackhole' });
    expect(parseMode({ kind: 'latency', ms: 300 })).toEqual({ kind: 'latency', ms: 300 });
    expect(() => parseMode({ kind: 'latency' })).toThrow(/mode must be/);
    expect(() => parseMode(null)).toThrow(/mode must be/);
  });
});
