/**
 * The thin pipeline's only step: forwards the event unchanged, stamped with the time it
 * was processed and the worker that did it (so the downstream record shows who did the
 * work). The full validate/enrich/score pipeline replaces it in the worker issue.
 */
import { isoNow } from '../../../../lib/clock';
import { ok } from '../../../../lib/pipeline';
import type { Step, StepResult } from '../../../../lib/pipeline';
import type { ProcessedRecord } from '../../../../lib/records/processed';

export function passThroughStep(worker: string): Step {
  return {
    name: 'pass-through',
    adds: ['processedAt', 'processedBy'],
    run(event: ProcessedRecord): StepResult {
      event.processedAt = isoNow();
      event.processedBy = worker;
      return ok(event);
    },
  };
}
