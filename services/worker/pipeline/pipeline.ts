/**
 * Runs an event through the configured steps in order; the first step that does not
 * return `ok` decides the outcome, and the name of that step is reported with it.
 *
 * Synchronous steps run synchronously: `run()` returns a promise only once a step returned
 * one (any thenable, as a user's step may return), so a batch of events through sync steps
 * costs no promise per event.
 */
import type { ProcessedRecord } from '../../../lib/records/processed';
import type { Step, StepContext, StepResult } from '../../../lib/pipeline';

export type PipelineOutcome = StepResult & { step?: string };

export class Pipeline {
  /** The fields its steps add, in order, when every step declares them (`Step.adds`); else null. */
  readonly adds: readonly string[] | null;

  constructor(private readonly steps: readonly Step[]) {
    const declared = steps.map((s) => s.adds);
    this.adds = declared.every((a) => a !== undefined) ? [...new Set(declared.flat())] : null;
  }

  get stepNames(): string[] {
    return this.steps.map((s) => s.name);
  }

  run(event: ProcessedRecord, ctx: StepContext): PipelineOutcome | Promise<PipelineOutcome> {
    return this.from(0, event, ctx);
  }

  private from(
    first: number,
    event: ProcessedRecord,
    ctx: StepContext,
  ): PipelineOutcome | Promise<PipelineOutcome> {
    let current = event;
    for (let i = first; i < this.steps.length; i++) {
      const step = this.steps[i]!;
      const result = step.run(current, ctx);
      if (isThenable(result)) return Promise.resolve(result).then((r) => this.next(i, r, ctx));
      if (result.kind !== 'ok') return { ...result, step: step.name };
      current = result.event;
    }
    return { kind: 'ok', event: current };
  }

  private next(
    i: number,
    result: StepResult,
    ctx: StepContext,
  ): PipelineOutcome | Promise<PipelineOutcome> {
    if (result.kind !== 'ok') return { ...result, step: this.steps[i]!.name };
    return this.from(i + 1, result.event, ctx);
  }
}

function isThenable(value: unknown): value is PromiseLike<StepResult> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
