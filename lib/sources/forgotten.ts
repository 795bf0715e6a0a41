/**
 * The event keys forgotten per source, as the forget topic says now (lib/records/forget.ts):
 * followed by edges (a forgotten key is suppressed) and workers (its state is dropped).
 * A record that does not parse is skipped (logged, `onSkipped`); a tombstone lifts the
 * suppression.
 */
import type { Logger } from '../logger';
import type { KafkaClient } from '../kafka/port';
import { forgetKey, parseForget } from '../records/forget';
import type { ForgetRecord } from '../records/forget';
import { followTopic } from './follow';

export interface ForgottenDeps {
  kafka: KafkaClient;
  topic: string;
  logger: Logger;
  onSkipped?: (key: string) => void;
  /** Called for each forget request as it arrives (not for a lifted one). */
  onForget?: (record: ForgetRecord) => void;
}

export class Forgotten {
  private readonly keys = new Set<string>();
  private readonly view;

  constructor(deps: ForgottenDeps) {
    this.view = followTopic<ForgetRecord>({
      ...deps,
      parse: parseForget,
      apply: (key, record) => {
        if (!record) {
          this.keys.delete(key);
          return;
        }
        this.keys.add(key);
        deps.onForget?.(record);
      },
    });
  }

  start(): Promise<void> {
    return this.view.start();
  }

  ready(): Promise<void> {
    return this.view.ready();
  }

  stop(): Promise<void> {
    return this.view.stop();
  }

  has(source: string, key: string): boolean {
    return this.keys.size > 0 && this.keys.has(forgetKey(source, key));
  }
}
