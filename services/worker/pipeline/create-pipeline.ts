/**
 * Builds the configured pipeline. Built-in steps: `validate`, `enrich`, `score`,
 * `pass-through`. Any other entry is a path (relative to the working directory) of a
 * module that exports `createStep(deps) => Step`: that is how users add their own step.
 * An unknown name or a module without `createStep` stops the worker at start.
 */
import { resolve } from 'node:path';
import type { Logger } from '../../../lib/logger';
import type { Step } from '../../../lib/pipeline';
import type { PipelineConfig } from './config';
import { Pipeline } from './pipeline';
import { enrichStep } from './steps/enrich-step';
import { passThroughStep } from './steps/pass-through-step';
import { ScoreStep } from './steps/score-step';
import { loadSchemas, validateStep } from './steps/validate-step';

export interface StepDeps {
  logger: Logger;
  config: PipelineConfig;
  instance: string;
}

export interface BuiltPipeline {
  pipeline: Pipeline;
  /** The scorer, when `score` is configured: the worker restores its state on assignment. */
  scorer: ScoreStep | null;
}

const BUILT_INS: Record<string, (deps: StepDeps) => Step> = {
  validate: ({ config }) =>
    validateStep({ schemas: loadSchemas(config.schemasDir), unknownTypes: config.unknownTypes }),
  enrich: ({ instance, config }) =>
    enrichStep({ worker: instance, sources: config.sourceMetadata }),
  score: ({ config }) => new ScoreStep({ maxVisitorsPerPartition: config.maxVisitorsPerPartition }),
  'pass-through': ({ instance }) => passThroughStep(instance),
};

export function createPipeline(deps: StepDeps): BuiltPipeline {
  const steps = deps.config.steps.map((name) => createStep(name, deps));
  const scorer = steps.find((s): s is ScoreStep => s instanceof ScoreStep) ?? null;
  deps.logger.info({ steps: steps.map((s) => s.name) }, 'pipeline_built');
  return { pipeline: new Pipeline(steps), scorer };
}

function createStep(name: string, deps: StepDeps): Step {
  const builtIn = BUILT_INS[name];
  if (builtIn) return builtIn(deps);
  if (!name.includes('/') && !name.endsWith('.js')) {
    throw new Error(
      `unknown pipeline step "${name}": use one of ${Object.keys(BUILT_INS).join(', ')}, or the path of a module exporting createStep()`,
    );
  }
  const path = resolve(process.cwd(), name);
  let mod: { createStep?: unknown };
  try {
    // NOTE: a user's step module is loaded synchronously at start, by path: require() is the point.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(path) as { createStep?: unknown };
  } catch (err) {
    throw new Error(`pipeline step module ${path} could not be loaded: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (typeof mod.createStep !== 'function')
    throw new Error(`pipeline step module ${path} does not export createStep()`);
  const step = (mod.createStep as (d: StepDeps) => Step)(deps);
  if (typeof step?.run !== 'function' || typeof step.name !== 'string') {
    throw new Error(`createStep() of ${path} did not return a step ({ name, run })`);
  }
  return step;
}
