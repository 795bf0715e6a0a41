/**
 * Pipeline step results: a step returns `ok` (with the event, possibly changed: a step may
 * change the event it is given in place, each run has an event of its own), `dlq`
 * (the event goes to the dead-letter topic with the reason) or `drop` (counted, not
 * forwarded). Steps throw only for dependency failures, which the worker retries.
 */
import type { Envelope } from './envelope';

export type StepResult =
  | { kind: 'ok'; event: Envelope }
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
  run(event: Envelope, ctx: StepContext): StepResult | Promise<StepResult>;
}

export const ok = (event: Envelope): StepResult => ({ kind: 'ok', event });
export const dlq = (reason: string): StepResult => ({ kind: 'dlq', reason });
export const drop = (reason: string): StepResult => ({ kind: 'drop', reason });
