/**
 * Reads an upstream's committed resume position from the compacted positions topic, read
 * committed and up to the topic's end at the time of the call: after this puller's writer
 * (re)started and fenced any other, that includes everything the previous owner committed
 * (the broker completes or aborts a fenced producer's transaction before the new one starts).
 */
import type { KafkaClient } from '../../lib/kafka/port';
import type { Logger } from '../../lib/logger';
import { TopicView, memoryStore } from '../../lib/kafka/topic-view';
import { parseStoredPosition } from './tx-writer';
import type { StoredPosition } from './tx-writer';

export function positionReader(deps: {
  kafka: KafkaClient;
  topic: string;
  logger: Logger;
}): (upstream: string) => Promise<string | null> {
  return async (upstream) => {
    const view = new TopicView<StoredPosition>({
      kafka: deps.kafka,
      topic: deps.topic,
      store: memoryStore(),
      logger: deps.logger,
      parse: parseStoredPosition,
    });
    try {
      await view.start();
      await view.ready();
      return view.get(upstream)?.position ?? null;
    } finally {
      await view.stop().catch(() => undefined);
    }
  };
}
