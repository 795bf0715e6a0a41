/**
 * Shares quota usage between the edges through the compacted usage topic
 * (lib/records/usage.ts): every `intervalMs` this edge publishes its report (what it
 * admitted per source, keyed by its instance name), and it merges every report it reads
 * into its quotas (lib/sources/quota.ts), its own earlier runs' included (the day's count
 * survives a restart). An unreadable report is skipped (logged, `onSkipped`).
 */
import type { Logger } from '../../../lib/logger';
import type { KafkaClient, Producer } from '../../../lib/kafka/port';
import { encodeUsage, parseUsage } from '../../../lib/records/usage';
import type { UsageReport } from '../../../lib/records/usage';
import { followTopic } from '../../../lib/sources/follow';
import type { FleetQuotas } from '../../../lib/sources/quota';
import { writeKeyed } from '../../../lib/sources/write';

export interface UsageShareDeps {
  kafka: KafkaClient;
  topic: string;
  instance: string;
  quotas: FleetQuotas;
  intervalMs: number;
  logger: Logger;
  onSkipped?: (key: string) => void;
}

export class UsageShare {
  private readonly view;
  private readonly producer: Producer;
  private timer: NodeJS.Timeout | null = null;
  private publishing: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly deps: UsageShareDeps) {
    this.log = deps.logger.child({ module: 'usage-share' });
    this.producer = deps.kafka.producer();
    this.view = followTopic<UsageReport>({
      ...deps,
      parse: (_key, value) => (value ? parseUsage(value) : null),
      apply: (_key, report) => {
        if (report) deps.quotas.merge(report);
      },
    });
  }

  async start(): Promise<void> {
    await this.producer.connect();
    await this.view.start();
    this.timer = setInterval(() => {
      this.publishing = this.publish();
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  /** Resolves once the reports present at start were merged (the day's counts so far). */
  ready(): Promise<void> {
    return this.view.ready();
  }

  /** Publishes this edge's report now (nothing while it admitted nothing). */
  async publish(): Promise<void> {
    const report = this.deps.quotas.report();
    if (Object.keys(report.sources).length === 0) return;
    try {
      await writeKeyed(this.producer, this.deps.topic, [
        { key: this.deps.instance, value: encodeUsage(report) },
      ]);
    } catch (err) {
      // The next report says it all: counters are cumulative.
      this.log.warn({ error: String(err) }, 'usage_report_failed');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.publishing;
    await this.publish();
    await this.view.stop();
    await this.producer.disconnect();
  }
}
