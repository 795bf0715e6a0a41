/**
 * `intake sources add|set|rotate-key|disable|enable|list` and `intake forget`: sources as
 * data (docs/sources.md). Each command reads the sources topic to its end, makes its
 * change (lib/sources/admin.ts) and writes it, acks=all; every edge applies it within
 * seconds, without a restart. A new key is printed once, and stored only as its hash.
 * `list` never prints a source's `hashKey` (the secret behind its hashed fields).
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import type { KafkaConfig } from '../../../lib/config';
import type { KafkaClient } from '../../../lib/kafka/port';
import pino from 'pino';
import { SourceAdmin, shownSource } from '../../../lib/sources/admin';
import type { AdminResult } from '../../../lib/sources/admin';
import { SourceBook } from '../../../lib/sources/book';
import { parseDuration } from '../../../lib/sources/changes';
import type { SourceChange } from '../../../lib/sources/changes';

type CliKafka = (brokers: string | undefined) => { kafka: KafkaClient; kafkaConfig: KafkaConfig };

/** Runs `op` on the sources as the topic holds them now. */
async function withAdmin<T>(
  cliKafka: CliKafka,
  brokers: string | undefined,
  op: (admin: SourceAdmin) => Promise<T>,
): Promise<T> {
  const { kafka, kafkaConfig } = cliKafka(brokers);
  // Warnings (a skipped record) to stderr: stdout holds the answer (`--json`).
  const logger = pino({ level: 'warn', base: { service: 'cli' } }, pino.destination(2));
  const book = new SourceBook({ kafka, topic: kafkaConfig.topics.sources, logger });
  const producer = kafka.producer();
  await Promise.all([book.start(), producer.connect()]);
  try {
    await book.ready();
    return await op(new SourceAdmin({ book, producer, topics: kafkaConfig.topics }));
  } finally {
    await Promise.all([book.stop(), producer.disconnect()]);
  }
}

/** The answer's value, or an error naming what is wrong (the CLI exits 1 with it). */
function unwrap<T>(result: AdminResult<T>): T {
  if (!result.ok)
    throw new Error(result.field ? `${result.field} ${result.reason}` : result.reason);
  return result;
}

const print = (text: string): void => void process.stdout.write(`${text}\n`);

/** A number option, or `off` to unset it. */
const numberOrOff =
  (integer: boolean) =>
  (value: string): number | null => {
    if (value === 'off') return null;
    const n = Number(value);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n)))
      throw new Error(`expected ${integer ? 'an integer' : 'a number'} or off, got ${value}`);
    return n;
  };

const list = (value: string): string[] =>
  value === '' ? [] : value.split(',').map((s) => s.trim());

export function addSourceCommands(program: Command, cliKafka: CliKafka): void {
  const brokers = (): Option =>
    new Option(
      '--brokers <list>',
      'Kafka bootstrap brokers (default: INTAKE_KAFKA_BROKERS or the local fleet)',
    );
  const sources = program
    .command('sources')
    .description('manage sources: keys, quotas and privacy (docs/sources.md)');

  sources
    .command('add')
    .description('add a source with a new key (printed once: keep it)')
    .argument('<name>', 'letters, digits, ".", "_" or "-", up to 64')
    .option('--json', 'print {"source": NAME, "key": KEY}')
    .addOption(brokers())
    .action(async (name: string, opts: { json?: boolean; brokers?: string }) => {
      const { key } = unwrap(await withAdmin(cliKafka, opts.brokers, (a) => a.add(name)));
      print(opts.json ? JSON.stringify({ source: name, key }) : key);
    });

  sources
    .command('set')
    .description(
      'change a source\'s quotas, privacy policy, origins or app ids ("off" unsets a number)',
    )
    .argument('<name>')
    .addOption(
      new Option('--per-second <n>', 'events per second, fleet-wide').argParser(numberOrOff(false)),
    )
    .addOption(
      new Option('--burst <n>', 'events admitted at once (the bucket)').argParser(
        numberOrOff(true),
      ),
    )
    .addOption(
      new Option('--per-day <n>', 'events per UTC day, fleet-wide').argParser(numberOrOff(true)),
    )
    .addOption(
      new Option('--per-day-grace <fraction>', 'admitted beyond --per-day, e.g. 0.1').argParser(
        numberOrOff(false),
      ),
    )
    .addOption(new Option('--ip <policy>', 'client IP').choices(['keep', 'truncate', 'drop']))
    .addOption(new Option('--user-agent <policy>', 'user agent').choices(['keep', 'drop']))
    .addOption(
      new Option(
        '--redact <pointers>',
        'JSON pointers into data to remove, comma-separated ("" for none)',
      ).argParser(list),
    )
    .addOption(
      new Option(
        '--hash <pointers>',
        'JSON pointers into data to hash, comma-separated ("" for none)',
      ).argParser(list),
    )
    .addOption(new Option('--gpc <policy>', 'Sec-GPC: 1 requests').choices(['anonymous', 'ignore']))
    .addOption(new Option('--dnt <policy>', 'DNT: 1 requests').choices(['anonymous', 'ignore']))
    .addOption(
      new Option(
        '--suppress <keys>',
        'event keys whose events are dropped, comma-separated',
      ).argParser(list),
    )
    .addOption(
      new Option('--origins <origins>', 'browser origins allowed, comma-separated').argParser(list),
    )
    .addOption(
      new Option('--app-ids <ids>', "the source's tracker app ids, comma-separated").argParser(
        list,
      ),
    )
    .option('--json', 'print the record written')
    .addOption(brokers())
    .action(
      async (
        name: string,
        opts: SourceChange & { json?: boolean; brokers?: string; suppress?: string[] },
      ) => {
        const { json, brokers: b, suppress, ...change } = opts;
        const { source } = unwrap(
          await withAdmin(cliKafka, b, (a) => a.set(name, { ...change, suppressed: suppress })),
        );
        print(
          json
            ? JSON.stringify(shownSource(source))
            : `source "${name}" is at version ${source.version}`,
        );
      },
    );

  sources
    .command('rotate-key')
    .description('give a source a new key (printed once); its current keys work for --grace more')
    .argument('<name>')
    .option(
      '--grace <duration>',
      'how long the current keys keep working: 0, 90s, 30m, 24h, 7d',
      '24h',
    )
    .option('--json', 'print {"source": NAME, "key": KEY}')
    .addOption(brokers())
    .action(async (name: string, opts: { grace: string; json?: boolean; brokers?: string }) => {
      const graceMs = parseDuration(opts.grace);
      const { key } = unwrap(
        await withAdmin(cliKafka, opts.brokers, (a) => a.rotateKey(name, graceMs)),
      );
      print(opts.json ? JSON.stringify({ source: name, key }) : key);
    });

  for (const [command, enabled] of [
    ['disable', false],
    ['enable', true],
  ] as const)
    sources
      .command(command)
      .description(
        enabled ? "accept a disabled source's keys again" : 'refuse every key of a source (403)',
      )
      .argument('<name>')
      .addOption(brokers())
      .action(async (name: string, opts: { brokers?: string }) => {
        unwrap(await withAdmin(cliKafka, opts.brokers, (a) => a.setEnabled(name, enabled)));
        print(`source "${name}" ${command}d`);
      });

  sources
    .command('list')
    .description('list the sources')
    .option('--json', 'print the records (without their hash keys)')
    .addOption(brokers())
    .action(async (opts: { json?: boolean; brokers?: string }) => {
      const all = await withAdmin(cliKafka, opts.brokers, (a) => Promise.resolve(a.list()));
      if (opts.json) {
        print(JSON.stringify(all.map(shownSource)));
        return;
      }
      const now = Date.now();
      console.table(
        all.map((s) => ({
          name: s.name,
          enabled: s.enabled,
          keys: s.keys.filter((k) => k.expiresAt === undefined || Date.parse(k.expiresAt) > now)
            .length,
          perSecond: s.quotas.perSecond ?? '-',
          burst: s.quotas.burst ?? '-',
          perDay: s.quotas.perDay ?? '-',
          ip: s.privacy.ip,
          redacted: s.privacy.redact.length,
          version: s.version,
        })),
      );
    });

  program
    .command('forget')
    .description(
      'forget an event key (visitor or user id) of a source: its score state and lookups go, its events are dropped from then on',
    )
    .argument('<source>')
    .argument('<key>', 'the event key: a visitor or user id')
    .addOption(brokers())
    .action(async (source: string, key: string, opts: { brokers?: string }) => {
      unwrap(await withAdmin(cliKafka, opts.brokers, (a) => a.forget(source, key)));
      print(`key "${key}" of source "${source}" forgotten`);
    });
}
