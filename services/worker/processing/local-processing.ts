/**
 * The processing of chunks on the calling thread (see `processing.ts`): the worker with
 * its processing thread turned off, the processing thread itself, and tests.
 */
import type { Logger } from '../../../lib/logger';
import { TopicPartitions } from '../../../lib/kafka/partitioner';
import { processBatch } from '../consumer/process-batch';
import type { BatchOutcome, ProcessDeps } from '../consumer/process-batch';
import { RecentIds } from '../consumer/recent-ids';
import type { RecentIdsOptions } from '../consumer/recent-ids';
import type { KafkaConfig } from '../../../lib/config';
import { workerOutputs } from '../outbound/outputs';
import type { Outputs } from '../outbound/outputs';
import type { PipelineConfig } from '../pipeline/config';
import { createPipeline } from '../pipeline/create-pipeline';
import type { Pipeline } from '../pipeline/pipeline';
import type { ScoreStep } from '../pipeline/steps/score-step';
import type { ChunkInput, Processing } from './processing';

export interface LocalProcessingDeps {
  pipeline: Pipeline;
  /** The pipeline's score step, when it has one (its state is restored on assignment). */
  scorer?: ScoreStep | null;
  /** The recently processed ids (absent: no deduplication). */
  recentIds?: RecentIds;
  outputs: Outputs;
}

export class LocalProcessing implements Processing {
  readonly where = 'inline';
  readonly scores: ScoreStep | null;
  readonly ids: RecentIds;
  private readonly deps: ProcessDeps;

  constructor(deps: LocalProcessingDeps) {
    this.scores = deps.scorer ?? null;
    this.ids = deps.recentIds ?? new RecentIds({ windowMs: 0, maxPerPartition: 0 });
    this.deps = { pipeline: deps.pipeline, outputs: deps.outputs, recentIds: this.ids };
  }

  process(input: ChunkInput): Promise<BatchOutcome> {
    return processBatch(input, this.deps);
  }

  committed(partition: number, outcome: BatchOutcome): void {
    this.ids.add(partition, outcome.ids);
  }

  async close(): Promise<void> {}
}

/** What it takes to build the processing from configuration, on any thread. */
export interface ProcessingSettings {
  pipeline: PipelineConfig;
  dedup: RecentIdsOptions;
  topics: KafkaConfig['topics'];
  /** The partition count of each output topic (read from the metadata at start). */
  partitionCounts: Record<string, number>;
  instance: string;
}

export function buildLocalProcessing(
  settings: ProcessingSettings,
  logger: Logger,
): LocalProcessing {
  const { pipeline, scorer } = createPipeline({
    logger,
    config: settings.pipeline,
    instance: settings.instance,
  });
  const partitions = new TopicPartitions();
  for (const [topic, n] of Object.entries(settings.partitionCounts)) partitions.set(topic, n);
  return new LocalProcessing({
    pipeline,
    scorer,
    recentIds: new RecentIds(settings.dedup),
    outputs: workerOutputs(settings.topics, partitions),
  });
}
