/**
 * One-way events over UDP (the telemetry case: devices that send and never read an
 * answer). Off by default (`INTAKE_UDP_PORT`). Each datagram holds NDJSON (one event per
 * line); valid events go to the one-way queue (counted drops, no acknowledgement, loss
 * allowed by design), invalid lines and datagrams are counted and ignored. UDP carries no
 * API key: the events get the configured source, so bind the listener to a trusted
 * network only (127.0.0.1 by default). nginx can balance it with its `stream` module:
 * infra/nginx/udp-stream.conf.tmpl. With sources, a datagram's valid events are taken from
 * the source's quotas (SourcePolicy.admit); refused, they are dropped, counted as the
 * source's `limited` events.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import type { Logger } from '../../../lib/logger';
import { admit } from '../ingest/admit';
import { parseBody } from '../ingest/body';
import type { BodyLimits } from '../ingest/body';
import type { OneWayQueue } from '../one-way-queue';
import type { SourcePolicy } from '../sources/source-policy';

export interface UdpListenerDeps {
  host: string;
  port: number;
  source: string;
  queue: Pick<OneWayQueue, 'enqueue'>;
  limits: BodyLimits;
  logger: Logger;
  /** Counts datagrams and invalid lines (for metrics). */
  onDatagram?: (events: number, invalid: number) => void;
  /** Per-source quotas; absent: none. */
  sources?: Pick<SourcePolicy, 'admit'>;
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
    const { envelopes, rejected } = admit(items, {
      source: this.deps.source,
      pattern: 'one-way',
      receivedAt: new Date(),
      meta: { ip: address },
    });
    const admitted =
      envelopes.length > 0 &&
      (this.deps.sources?.admit(this.deps.source, envelopes.length).ok ?? true);
    if (admitted) this.deps.queue.enqueue(envelopes.map((e) => e.envelope));
    this.deps.onDatagram?.(admitted ? envelopes.length : 0, rejected.length);
  }

  async stop(): Promise<void> {
    const socket = this.socket;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}
