/**
 * The processing on a thread of its own (see `processing.ts`): this side packs each chunk
 * into one transferred buffer, the thread (`processing-thread.ts`) runs deduplication,
 * the pipeline and the outputs registry with their state, and answers with the outbound
 * records' values packed the same way. The consumer's thread meanwhile decodes the next
 * fetch, logs, commits and sends, so the worker uses a second core.
 *
 * The thread failing (an uncaught error, an exit) fails every call in flight and calls
 * `onFailure`: the worker must then stop (the state lived there); nothing handed off is
 * lost (SBML: the log; HML: the transaction), what was not is processed again.
 */
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { IntakeError } from '../../../lib/errors';
import type { BatchOutcome } from '../consumer/process-batch';
import { packRecords, transferOf, unpackOutcome } from './chunk-codec';
import type { ProcessingSettings } from './local-processing';
import type { ChunkInput, IdsState, Processing, ScoreState } from './processing';
import { fromWire } from './thread-protocol';
import type { Answer, Call, Done } from './thread-protocol';

type Pending = { resolve: (answer: Done) => void; reject: (err: Error) => void };
type Calling<C> = C extends { seq: number } ? Omit<C, 'seq'> : never;

export interface ThreadProcessingOptions {
  settings: ProcessingSettings;
  /** The thread failed after it started: the worker must stop. */
  onFailure: (err: Error) => void;
  /** The compiled thread entry (default: `processing-thread.js` beside this module's build). */
  entry?: string;
}

export class ThreadProcessing implements Processing {
  readonly where = 'thread';
  private readonly pending = new Map<number, Pending>();
  private readonly chunks = new WeakMap<BatchOutcome, { partition: number; chunk: number }>();
  private seq = 0;
  private failed: Error | null = null;
  private closing = false;
  readonly scores: ScoreState | null;
  readonly ids: IdsState;

  /** Of a thread that said it is ready, and what state its pipeline keeps. */
  private constructor(
    private readonly worker: Worker,
    ready: { scores: boolean; dedup: boolean },
    private readonly onFailure: (err: Error) => void,
  ) {
    this.ids = {
      enabled: ready.dedup,
      add: (partition, entries) => this.post({ op: 'addIds', partition, entries: [...entries] }),
      restore: async (partition, entries, now) => {
        await this.call({ op: 'restoreIds', partition, entries: [...entries], now });
      },
      forget: (partition) => this.post({ op: 'forget', partition, state: 'ids' }),
      size: async (partition) => (await this.call({ op: 'size', partition })).value as number,
    };
    this.scores = ready.scores
      ? {
          restore: async (partition, records) =>
            (await this.call({ op: 'restoreScores', partition, records: [...records] }))
              .value as number,
          forget: (partition) => this.post({ op: 'forget', partition, state: 'scores' }),
          drop: async (visitorId) => (await this.call({ op: 'drop', visitorId })).value as boolean,
        }
      : null;
    worker.on('message', (answer: Answer) => {
      const pending = this.pending.get(answer.seq);
      if (!pending || 'ready' in answer) return;
      this.pending.delete(answer.seq);
      if (answer.ok) pending.resolve(answer);
      else pending.reject(fromWire(answer.error));
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (!this.closing)
        this.fail(new IntakeError('INTERNAL', `the processing thread exited (${code})`));
    });
  }

  /** Starts the thread; resolves once its pipeline is built (rejects with why it could not be). */
  static start(options: ThreadProcessingOptions): Promise<ThreadProcessing> {
    const entry = options.entry ?? join(__dirname, 'processing-thread.js');
    const worker = new Worker(entry, { workerData: options.settings });
    return new Promise((resolve, reject) => {
      const early = (err: unknown): void =>
        reject(err instanceof Error ? err : new Error(String(err)));
      const earlyExit = (code: number): void =>
        reject(
          new IntakeError('INTERNAL', `the processing thread exited (${code}) while starting`),
        );
      worker.once('error', early);
      worker.once('exit', earlyExit);
      worker.once('message', (first: Answer) => {
        worker.off('error', early);
        worker.off('exit', earlyExit);
        if (!('ready' in first)) {
          reject(new IntakeError('INTERNAL', 'the processing thread did not start as expected'));
          return;
        }
        resolve(new ThreadProcessing(worker, first.ready, options.onFailure));
      });
    });
  }

  async process(input: ChunkInput): Promise<BatchOutcome> {
    const packed = packRecords(input.messages);
    const call = { op: 'process' as const, topic: input.topic, partition: input.partition, packed };
    const seq = ++this.seq;
    const answer = await this.call(call, transferOf(packed), seq);
    const outcome: BatchOutcome = { ...unpackOutcome(answer.packed!), ids: [] };
    this.chunks.set(outcome, { partition: input.partition, chunk: seq });
    return outcome;
  }

  committed(partition: number, outcome: BatchOutcome): void {
    const chunk = this.chunks.get(outcome);
    if (chunk?.partition === partition)
      this.post({ op: 'committed', partition, chunk: chunk.chunk });
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.worker.terminate();
  }

  private post(call: Call): void {
    if (this.failed) throw this.failed;
    this.worker.postMessage(call);
  }

  private call(call: Calling<Call>, transfer: ArrayBuffer[] = [], seq = ++this.seq): Promise<Done> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      this.worker.postMessage({ ...call, seq }, transfer);
    });
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    for (const { reject } of this.pending.values()) reject(err);
    this.pending.clear();
    this.onFailure(err);
  }
}
