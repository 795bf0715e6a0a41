/**
 * One subscriber of a topic: filters the shared fan-out's records by key and type, keeps
 * its own position, and guards the edge's memory. The transport (SSE or WebSocket) only
 * writes text; when more than `maxBufferedBytes` wait unsent on its socket, the subscriber
 * is a slow consumer: it is told why (`slow-consumer`) and disconnected, and the others
 * never notice.
 *
 * A record older than the subscriber's position in its partition is skipped: the same
 * record may come twice where a catch-up from Kafka meets the live fan-out (the seam),
 * and the per-partition offset makes the second one a no-op.
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
  end(reason: EndReason): void;
}

/**
 * Why the edge ends a subscription: the client cannot keep up, the edge stops, or the
 * edge could not resume it here (reconnect with `Last-Event-ID`).
 */
export type EndReason = 'slow-consumer' | 'shutting-down' | 'resume-failed';

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
    if (record.offset < (this.position.get(record.partition) ?? 0n)) return;
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

  /**
   * Moves the position past offsets that hold no record for the subscriber (a
   * transaction's commit marker, an aborted record); never backwards.
   */
  advance(partition: number, next: bigint): void {
    if (next > (this.position.get(partition) ?? 0n)) this.position.set(partition, next);
  }

  /** The next offset of every partition: where this subscriber stands. */
  get at(): ReadonlyMap<number, bigint> {
    return this.position;
  }

  /** Bytes written to the client and not yet sent. */
  buffered(): number {
    return this.transport.buffered();
  }

  end(reason: EndReason): void {
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
