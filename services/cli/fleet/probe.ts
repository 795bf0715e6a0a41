/**
 * Asking the fleet's processes how they are: readiness and a few counters from their
 * Prometheus metrics.
 */
import { request } from 'node:http';
import { connect } from 'node:net';

export interface HttpAnswer {
  status: number;
  body: string;
}

export function httpGet(port: number, path: string, timeoutMs = 2000): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: 'GET', timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function isReady(port: number, path = '/readyz'): Promise<boolean> {
  try {
    return (await httpGet(port, path)).status === 200;
  } catch {
    return false;
  }
}

/** The value of an unlabelled counter or gauge in Prometheus text, or `missing` (0) when absent. */
export function metricValue(text: string, name: string, missing = 0): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  if (!line) return missing;
  const value = Number(line.slice(line.lastIndexOf(' ') + 1));
  return Number.isFinite(value) ? value : 0;
}

export async function readCounter(port: number, name: string): Promise<number> {
  try {
    return metricValue((await httpGet(port, '/metrics')).body, name);
  } catch {
    return 0;
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port (a broker's listener). */
export function portOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: timeoutMs });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}
