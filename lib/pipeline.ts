/**
 * Pipeline step results: a step returns `ok` (with the event, possibly changed: a step may
 * change the event it is given in place, each run has an event of its own), `dlq`
 * (the event goes to the dead-letter topic with the reason) or `drop` (counted, not
 * forwarded). Steps throw only for dependency failures, which the worker retries. A step
 * works on the processed record (`lib/records/processed.ts`): the envelope plus what
 * steps add.
 */
import type { ProcessedRecord } from './records/processed';

export type StepResult =
  | { kind: 'ok'; event: ProcessedRecord }
  | { kind: 'dlq'; reason: string }
  | { kind: 'drop'; reason: string };

/** A record a step produces besides the event itself (e.g. a visitor's new score). */
export interface SideRecord {
  /** A logical output name from the worker's topic config (e.g. `scores`). */
  output: string;
  key: string;
  value: unknown;
  /**
   * The output is a changelog read by key (a compacted topic, e.g. scores): within one
   * chunk only the last record of each key is delivered, after the chunk's events, with
   * the position of the event that emitted it. The value must not change after `emit`.
   */
  latestPerKey?: boolean;
}

export interface StepContext {
  /** Position of the input record in the raw topic. */
  topic: string;
  partition: number;
  offset: string;
  /** Adds a side record; it is delivered with the same guarantees as the event. */
  emit(record: SideRecord): void;
}

export interface Step {
  readonly name: string;
  /**
   * The top-level fields this step sets on the event, declared when that is all it does:
   * it changes no other field (nor anything inside one) and returns the event it was
   * given, setting its fields in this order. When every step of a pipeline declares them,
   * the worker writes a processed record as the raw record's JSON text with these fields
   * appended, instead of serialising the whole event again. Leave it out otherwise.
   */
  readonly adds?: readonly string[];
  run(event: ProcessedRecord, ctx: StepContext): StepResult | Promise<StepResult>;
}

export const ok = (event: ProcessedRecord): StepResult => ({ kind: 'ok', event });
export const dlq = (reason: string): StepResult => ({ kind: 'dlq', reason });
export const drop = (reason: string): StepResult => ({ kind: 'drop', reason });
