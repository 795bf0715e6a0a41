/**
 * Pipeline configuration: which steps run, in order, and their settings.
 *
 *   INTAKE_PIPELINE   comma-separated steps (default `validate,enrich,score`): built-in
 *                     names, or paths of your own step modules (see README, "Adding a
 *                     pipeline step")
 *   INTAKE_SCHEMAS_DIR            folder of `<type>.schema.json` (default: the bundled ones)
 *   INTAKE_UNKNOWN_TYPES          `pass` (default) or `dlq` for types without a schema
 *   INTAKE_SCORE_MAX_VISITORS     visitors kept per partition by the scorer (default 100000)
 *   INTAKE_SOURCE_METADATA        JSON object: source -> metadata added by `enrich`
 */
import { join } from 'node:path';
import type { EnvReader } from '../../../lib/config';
import { projectRoot } from '../../../lib/paths';

export interface PipelineConfig {
  steps: string[];
  schemasDir: string;
  unknownTypes: 'pass' | 'dlq';
  maxVisitorsPerPartition: number;
  sourceMetadata: Record<string, Record<string, string>>;
}

export const pipelineDefaults: PipelineConfig = {
  steps: ['validate', 'enrich', 'score'],
  schemasDir: join(projectRoot(), 'services', 'worker', 'schemas'),
  unknownTypes: 'pass',
  maxVisitorsPerPartition: 100_000,
  sourceMetadata: {},
};

export function readPipelineConfig(r: EnvReader): PipelineConfig {
  return {
    steps: r.list('INTAKE_PIPELINE', pipelineDefaults.steps),
    schemasDir: r.str('INTAKE_SCHEMAS_DIR', pipelineDefaults.schemasDir),
    unknownTypes: r.oneOf('INTAKE_UNKNOWN_TYPES', pipelineDefaults.unknownTypes, [
      'pass',
      'dlq',
    ] as const),
    maxVisitorsPerPartition: r.int(
      'INTAKE_SCORE_MAX_VISITORS',
      pipelineDefaults.maxVisitorsPerPartition,
      { min: 1 },
    ),
    sourceMetadata: r.json('INTAKE_SOURCE_METADATA', pipelineDefaults.sourceMetadata),
  };
}
