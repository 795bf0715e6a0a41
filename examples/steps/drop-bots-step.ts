/**
 * An example of a user's own pipeline step: drops events sent by crawlers and bots
 * (judged by the user agent the edge recorded). Build it (or write it in plain
 * JavaScript) and list the module's path in `INTAKE_PIPELINE`, e.g.
 *
 *   INTAKE_PIPELINE=validate,./dist/examples/steps/drop-bots-step.js,enrich,score
 *
 * A step module exports `createStep(deps)` returning `{ name, run(event, ctx) }`; `run`
 * returns `ok(event)`, `dlq(reason)` or `drop(reason)`, and throws only when a dependency
 * fails (the worker then retries).
 */
import { drop, ok } from '../../lib/pipeline';
import type { Step } from '../../lib/pipeline';

const BOT = /bot|crawler|spider|slurp|headless/i;

export function createStep(): Step {
  return {
    name: 'drop-bots',
    adds: [], // it only reads the event: the worker may write it over its raw text
    run(event) {
      const ua = event.meta?.userAgent;
      return typeof ua === 'string' && BOT.test(ua) ? drop('bot user agent') : ok(event);
    },
  };
}
