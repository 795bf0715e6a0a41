/**
 * Admission: the one place where parsed items become envelopes, for every transport
 * (HTTP requests, chunked NDJSON and WebSocket streams, UDP datagrams). Each item is
 * either wrapped into an envelope (lib/envelope.ts `wrapEvent`: schema, id, key) or
 * listed as rejected with its index and reason; admission never throws for bad input.
 * What happens to the envelopes (stored and acknowledged, queued one-way) is the
 * transport's business.
 */
import { wrapEvent } from '../../../lib/envelope';
import type { Envelope, WrapContext } from '../../../lib/envelope';
import type { Item } from './body';

export interface Admitted {
  /** The item's index in the list given to `admit`. */
  index: number;
  envelope: Envelope;
}

export interface Rejected {
  index: number;
  reason: string;
}

export interface Admission {
  /** In item order. */
  envelopes: Admitted[];
  /** In item order. */
  rejected: Rejected[];
}

/**
 * Wraps every valid item with the same context (source, pattern, receive time, request
 * meta); `ctx.defaultKey` is called only for events that name no key.
 */
export function admit(items: readonly Item[], ctx: WrapContext): Admission {
  const envelopes: Admitted[] = [];
  const rejected: Rejected[] = [];
  for (let index = 0; index < items.length; index++) {
    const item = items[index]!;
    if (!item.ok) {
      rejected.push({ index, reason: item.reason });
      continue;
    }
    const result = wrapEvent(item.value, ctx, item.dataJson);
    if (result.ok) envelopes.push({ index, envelope: result.envelope });
    else rejected.push({ index, reason: result.reason });
  }
  return { envelopes, rejected };
}
