/**
 * Receipts: an opaque token per accepted event that names its position in the raw topic
 * (partition and offset), so any edge can later say what became of the event from Kafka
 * positions alone. Format: `r1` + base64url("<partition>.<offset>"); clients must treat it
 * as opaque.
 */
import type { ProgressRecord } from '../../../lib/records/progress';

export interface ReceiptPosition {
  partition: number;
  offset: bigint;
}

const PREFIX = 'r1';

export function encodeReceipt(partition: number, offset: string): string {
  return PREFIX + Buffer.from(`${partition}.${offset}`).toString('base64url');
}

/** The position a receipt names, or null when it is not a receipt. */
export function decodeReceipt(receipt: string): ReceiptPosition | null {
  if (!receipt.startsWith(PREFIX) || receipt.length > 64) return null;
  const match = /^(\d{1,6})\.(\d{1,19})$/.exec(
    Buffer.from(receipt.slice(PREFIX.length), 'base64url').toString(),
  );
  if (!match) return null;
  return { partition: Number(match[1]), offset: BigInt(match[2]!) };
}

export type ReceiptStatus = 'queued' | 'processed' | 'delivered' | 'rejected';

/**
 * `queued`: not processed yet; `processed`: the business logic ran and its outputs are
 * durable in a worker's outbound log; `delivered`: its outputs were acknowledged by the
 * downstream topics (processed or dead-letter).
 */
export function receiptStatus(
  position: ReceiptPosition,
  progress: Pick<ProgressRecord, 'deliveredUpTo' | 'committedNext'> | undefined,
): ReceiptStatus {
  if (!progress || position.offset >= BigInt(progress.committedNext)) return 'queued';
  return position.offset < BigInt(progress.deliveredUpTo) ? 'delivered' : 'processed';
}
