/**
 * One subscriber of a topic: filters the shared fan-out's records by key and type, keeps
 * its own position, and guards the edge's memory. The transport (SSE or WebSocket) only
 * writes text; when more than `maxBufferedBytes` wait unsent on its socket, the subscriber
 * is a slow consumer: it is told why (`slow-consumer`) and disconnected, and the others
 * never notice.
 */
import type { FanoutRecord, Position, Subscriber } from './fanout';
import { formatPosition } from './fanout';

export interface Filter {
  keys: ReadonlySet<string> | null;
  types: ReadonlySet<string> | null;
}

export interface SubscriptionTransport {
  /** Sends one record with its resume id. */
  send(id: string, record: FanoutRecord): void;
  /** Bytes written and not yet sent to the client. */
  buffered(): number;
  /** Tells the client why, then disconnects. */
  end(reason: 'slow-consumer' | 'shutting-down'): void;
}

export class Subscription implements Subscriber {
  private ended = false;
  delivered = 0;

  constructor(
    private readonly transport: SubscriptionTransport,
    private readonly filter: Filter,
    private readonly position: Position,
    private readonly maxBufferedBytes: number,
    private readonly onSlow: () => void,
  ) {}

  deliver(record: FanoutRecord): void {
    if (this.ended) return;
    this.position.set(record.partition, record.offset + 1n);
    if (!matches(this.filter, record)) return;
    if (this.transport.buffered() > this.maxBufferedBytes) {
      this.end('slow-consumer');
      this.onSlow();
      return;
    }
    this.delivered += 1;
    this.transport.send(formatPosition(this.position), record);
  }

  end(reason: 'slow-consumer' | 'shutting-down'): void {
    if (this.ended) return;
    this.ended = true;
    this.transport.end(reason);
  }

  get isEnded(): boolean {
    return this.ended;
  }
}

export function matches(filter: Filter, record: FanoutRecord): boolean {
  if (filter.keys && (record.key === null || !filter.keys.has(record.key))) return false;
  if (filter.types && (record.type === null || !filter.types.has(record.type))) return false;
  return true;
}

/** `?key=a,b&type=x` -> a filter; absent parts match everything. */
export function parseFilter(key: unknown, type: unknown): Filter {
  const set = (v: unknown): ReadonlySet<string> | null =>
    typeof v === 'string' && v !== '' ? new Set(v.split(',').map((s) => s.trim())) : null;
  return { keys: set(key), types: set(type) };
}
