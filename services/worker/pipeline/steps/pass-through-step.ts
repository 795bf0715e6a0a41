/**
 * The thin pipeline's only step: forwards the event unchanged, stamped with the time it
 * was processed and the worker that did it (so the downstream record shows who did the
 * work). The full validate/enrich/score pipeline replaces it in the worker issue.
 */
import type { Envelope } from '../../../../lib/envelope';
import { isoNow } from '../../../../lib/clock';
import { ok } from '../../../../lib/pipeline';
import type { Step, StepResult } from '../../../../lib/pipeline';

export interface ProcessedEnvelope extends Envelope {
  processedAt: string;
  processedBy: string;
}

export function passThroughStep(worker: string): Step {
  return {
    name: 'pass-through',
    run(event: Envelope): StepResult {
      const processed = event as ProcessedEnvelope;
      processed.processedAt = isoNow();
      processed.processedBy = worker;
      return ok(processed);
    },
  };
}
