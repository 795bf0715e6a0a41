/**
 * Follows a small compacted topic from its beginning (a TopicView, lib/kafka/topic-view.ts)
 * and hands each record, parsed with its key, to `apply`: the value, or null for a
 * tombstone. A record the parser refuses is skipped: logged (`record_skipped`, with the
 * parser's message naming the bad field) and passed to `onSkipped`, and whatever the
 * reader holds for that key stays as it was (its last good settings).
 */
import type { Logger } from '../logger';
import { TopicView } from '../kafka/topic-view';
import type { ViewStore } from '../kafka/topic-view';
import type { KafkaClient } from '../kafka/port';

export interface FollowDeps<T> {
  kafka: KafkaClient;
  topic: string;
  logger: Logger;
  /** The record's value, null for a tombstone; throws for a record to skip. */
  parse: (key: string, value: Buffer | null) => T | null;
  apply: (key: string, value: T | null) => void;
  onSkipped?: (key: string) => void;
}

export function followTopic<T>(deps: FollowDeps<T>): TopicView<Buffer> {
  const log = deps.logger.child({ module: 'follow', topic: deps.topic });
  const keys = new Set<string>();
  const take = (key: string, raw: Buffer | null): void => {
    let value: T | null;
    try {
      value = deps.parse(key, raw);
    } catch (err) {
      log.warn({ key: key.slice(0, 128), error: String(err) }, 'record_skipped');
      deps.onSkipped?.(key);
      return;
    }
    if (value === null) keys.delete(key);
    else keys.add(key);
    deps.apply(key, value);
  };
  const store: ViewStore<Buffer> = {
    get: () => undefined,
    put: (key, raw) => take(key, raw),
    delete: (key) => take(key, null),
    get size() {
      return keys.size;
    },
    close: () => Promise.resolve(),
  };
  return new TopicView<Buffer>({
    kafka: deps.kafka,
    topic: deps.topic,
    store,
    logger: deps.logger,
    parse: (value) => value,
  });
}
