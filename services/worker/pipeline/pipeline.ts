/**
 * Runs an event through the configured steps in order; the first step that does not
 * return `ok` decides the outcome, and the name of that step is reported with it.
 */
import type { Envelope } from '../../../lib/envelope';
import type { Step, StepContext, StepResult } from '../../../lib/pipeline';

export type PipelineOutcome = StepResult & { step?: string };

export class Pipeline {
  constructor(private readonly steps: readonly Step[]) {}

  get stepNames(): string[] {
    return this.steps.map((s) => s.name);
  }

  async run(event: Envelope, ctx: StepContext): Promise<PipelineOutcome> {
    let current = event;
    for (const step of this.steps) {
      const result = await step.run(current, ctx);
      if (result.kind !== 'ok') return { ...result, step: step.name };
      current = result.event;
    }
    return { kind: 'ok', event: current };
  }
}
