/**
 * The messages between the consumer's thread and the processing thread (one definition,
 * both sides). Calls with a `seq` are answered once, by `Answer`; the others are not.
 */
import { ERROR_CODES, IntakeError } from '../../../lib/errors';
import type { ErrorCode } from '../../../lib/errors';
import type { PackedOutcome, PackedRecords } from './chunk-codec';

type Entries = { id: string; at: number }[];

export type Call =
  | { op: 'process'; seq: number; topic: string; partition: number; packed: PackedRecords }
  | {
      op: 'restoreScores';
      seq: number;
      partition: number;
      records: { key: string; value: unknown }[];
    }
  | { op: 'restoreIds'; seq: number; partition: number; entries: Entries; now: number }
  | { op: 'drop'; seq: number; visitorId: string }
  | { op: 'size'; seq: number; partition: number }
  /** The ids of the chunk processed as `seq` go into the window: its hand-off is committed. */
  | { op: 'committed'; partition: number; chunk: number }
  | { op: 'addIds'; partition: number; entries: Entries }
  | { op: 'forget'; partition: number; state: 'scores' | 'ids' };

export interface WireError {
  message: string;
  name: string;
  code?: string;
  stack?: string;
}

export type Done = { seq: number; ok: true; value?: unknown; packed?: PackedOutcome };

export type Answer =
  | Done
  | { seq: number; ok: false; error: WireError }
  /** Once, when the thread built its pipeline. */
  | { seq: 0; ready: { scores: boolean; dedup: boolean } };

export function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { message: String(err), name: 'Error' };
  const code = (err as { code?: unknown }).code;
  return {
    message: err.message,
    name: err.name,
    stack: err.stack,
    ...(typeof code === 'string' ? { code } : {}),
  };
}

/** The error again, an `IntakeError` with its code (and so its `retriable`) when it was one. */
export function fromWire(wire: WireError): Error {
  const err =
    wire.code !== undefined && wire.code in ERROR_CODES
      ? new IntakeError(wire.code as ErrorCode, wire.message)
      : Object.assign(new Error(wire.message), { name: wire.name });
  if (wire.stack) err.stack = `${wire.stack}\n    (on the processing thread)`;
  return err;
}
