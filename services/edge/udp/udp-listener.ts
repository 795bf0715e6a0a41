/**
 * One-way events over UDP (the telemetry case: devices that send and never read an
 * answer). Off by default (`INTAKE_UDP_PORT`). Each datagram holds NDJSON (one event per
 * line); valid events go to the one-way queue (counted drops, no acknowledgement, loss
 * allowed by design), invalid lines and datagrams are counted and ignored. UDP carries no
 * API key: the events get the configured source, so bind the listener to a trusted
 * network only (127.0.0.1 by default). nginx can balance it with its `stream` module:
 * infra/nginx/udp-stream.conf.tmpl.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { wrapEvent } from '../../../lib/envelope';
import type { Envelope } from '../../../lib/envelope';
import type { Logger } from '../../../lib/logger';
import { parseBody } from '../http/body';
import type { BodyLimits } from '../http/body';
import type { OneWayQueue } from '../one-way-queue';

export interface UdpListenerDeps {
  host: string;
  port: number;
  source: string;
  queue: Pick<OneWayQueue, 'enqueue'>;
  limits: BodyLimits;
  logger: Logger;
  /** Counts datagrams and invalid lines (for metrics). */
  onDatagram?: (events: number, invalid: number) => void;
}

export class UdpListener {
  private socket: Socket | null = null;

  constructor(private readonly deps: UdpListenerDeps) {}

  async start(): Promise<number> {
    const socket = createSocket('udp4');
    this.socket = socket;
    socket.on('message', (msg, rinfo) => this.receive(msg, rinfo.address));
    socket.on('error', (err) => this.deps.logger.warn({ err }, 'udp_socket_error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.deps.port, this.deps.host, () => resolve());
    });
    return socket.address().port;
  }

  private receive(msg: Buffer, address: string): void {
    let items;
    try {
      items = parseBody(msg, 'ndjson', null, this.deps.limits).items;
    } catch {
      this.deps.onDatagram?.(0, 1);
      return;
    }
    const receivedAt = new Date();
    const envelopes: Envelope[] = [];
    let invalid = 0;
    for (const item of items) {
      const r = item.ok
        ? wrapEvent(item.value, {
            source: this.deps.source,
            pattern: 'one-way',
            receivedAt,
            meta: { ip: address },
          })
        : null;
      if (r?.ok) envelopes.push(r.envelope);
      else invalid += 1;
    }
    if (envelopes.length > 0) this.deps.queue.enqueue(envelopes);
    this.deps.onDatagram?.(envelopes.length, invalid);
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
