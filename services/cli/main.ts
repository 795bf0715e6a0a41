/**
 * `intake`: the command line of the project (`npm run up`, `npm run down`,
 * `npm run status`). `up` starts the local fleet and shows a live status line until
 * Ctrl-C, which stops it cleanly; `up --detach` returns once the fleet is ready.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { EnvReader, readKafkaConfig } from '../../lib/config';
import type { KafkaConfig } from '../../lib/config';
import { createKafkaClient } from '../../lib/kafka/client';
import type { KafkaClient } from '../../lib/kafka/port';
import { createLogger } from '../../lib/logger';
import { Presets, SingleBar } from 'cli-progress';
import { hasLoss, summary } from './audit/analyze';
import { parseSince, runAudit } from './audit/audit';
import { sleep } from '../../lib/lifecycle';
import { replayDlq } from './dlq/replay';
import {
  FleetAlreadyRunning,
  down,
  localApiKey,
  restartProcess,
  runningFleet,
  up,
} from './fleet/fleet';
import { addEdge, removeEdge } from './fleet/scale';
import { streamStdin } from './stream/stream-stdin';
import { kafkaBrokerList, kafkaBrokers, makePlan } from './fleet/plan';
import type { FleetPlan } from './fleet/plan';
import { fleetStatus, statusLine } from './fleet/status';
import { readState } from './fleet/state';
import { addSourceCommands } from './sources/commands';

const root = resolve(__dirname, '..', '..', '..');
const say = (message: string): void => {
  process.stderr.write(`intake: ${message}\n`);
};

const program = new Command()
  .name('intake')
  .description('Intake: an event collection tier fronted by Kafka')
  .showHelpAfterError();

program
  .command('up')
  .description('start the local fleet: Kafka, nginx, edges and workers')
  .option('-d, --detach', 'return once the fleet is ready, leaving it running')
  .addOption(new Option('--edges <n>', 'edge processes').argParser(positive))
  .addOption(new Option('--workers <n>', 'worker processes').argParser(positive))
  .addOption(
    new Option(
      '--brokers <n>',
      'Kafka brokers: 1, or 3 (replication factor 3, min.insync.replicas=2)',
    ).choices(['1', '3']),
  )
  .addOption(
    new Option(
      '--logging <mode>',
      "the workers' message logging: sbml (local outbound log) or hml (Kafka transactions)",
    ).choices(['sbml', 'hml']),
  )
  .action(
    async (opts: {
      detach?: boolean;
      edges?: number;
      workers?: number;
      brokers?: string;
      logging?: 'sbml' | 'hml';
    }) => {
      const plan = makePlan(root, {
        edges: opts.edges,
        workers: opts.workers,
        brokers: opts.brokers === undefined ? undefined : Number(opts.brokers),
        logging: opts.logging,
      });
      const started = Date.now();
      try {
        await up(plan, say, opts.detach ? null : process.pid);
      } catch (err) {
        if (err instanceof FleetAlreadyRunning) {
          say(err.message);
          process.exitCode = opts.detach ? 0 : 1;
          return;
        }
        throw err;
      }
      printWelcome(plan, (Date.now() - started) / 1000, Boolean(opts.detach));
      if (!opts.detach) await supervise(plan);
    },
  );

program
  .command('down')
  .description('stop the local fleet (a detached one, or one running in another terminal)')
  .action(async () => {
    const plan = makePlan(root);
    const stopped = await down(plan, say);
    say(stopped ? 'fleet stopped' : 'no fleet is running');
  });

program
  .command('restart')
  .description(
    'restart one process of the running fleet: edge-1, worker-2, puller-1, kafka (kafka-2 with three brokers), ...',
  )
  .argument('<name>', 'the process, as `intake status` names it (edge-1, worker-2, ...)')
  .action(async (name: string) => {
    await restartProcess(makePlan(root), name, say);
  });

program
  .command('add')
  .description(
    'add an edge to the running fleet: starts the next one (edge-3, ...), waits until it is ready, then reloads nginx gracefully',
  )
  .argument('<kind>', 'what to add: edge')
  .action(async (kind: string) => {
    if (kind !== 'edge') throw new Error(`only edges can be added (not "${kind}")`);
    await addEdge(makePlan(root), say);
  });

program
  .command('remove')
  .description(
    'remove an edge from the running fleet: takes it out of nginx (graceful reload), then stops it (SIGTERM: it drains)',
  )
  .argument('<name>', 'the edge, as `intake status` names it (edge-1, edge-3, ...)')
  .action(async (name: string) => {
    await removeEdge(makePlan(root), name, say);
  });

program
  .command('stream')
  .description('send NDJSON events from stdin over one WebSocket stream (resends after reconnects)')
  .option('--url <url>', 'the stream endpoint (default: the local fleet through nginx)')
  .option('--key <key>', 'API key (default: $INTAKE_API_KEY, else the local fleet key)')
  .action(async (opts: { url?: string; key?: string }) => {
    const plan = makePlan(root);
    const key =
      opts.key ??
      process.env.INTAKE_API_KEY ??
      (existsSync(join(plan.stateDir, 'api-key')) ? localApiKey(plan) : undefined);
    const summary = await streamStdin({
      url: opts.url ?? `ws://127.0.0.1:${plan.httpPort}/v1/stream`,
      apiKey: key,
      input: process.stdin,
      progress: Boolean(process.stderr.isTTY),
    });
    say(
      `${summary.acked} of ${summary.sent} events acknowledged (${summary.rejected} refused, ${summary.reconnects} reconnects) in ${summary.seconds.toFixed(1)} s`,
    );
  });

program
  .command('status')
  .description('show the processes of the local fleet')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const plan = makePlan(root);
    const state = runningFleet(plan);
    if (!state) {
      say('no fleet is running; start one with `npm run up`');
      process.exitCode = 1;
      return;
    }
    const statuses = await fleetStatus(state);
    if (opts.json) {
      process.stdout.write(
        `${JSON.stringify({ startedAt: state.startedAt, processes: statuses }, null, 2)}\n`,
      );
      return;
    }
    console.table(statuses);
    process.stdout.write(`${statusLine(statuses)}\n`);
  });

program
  .command('dlq')
  .description('dead-letter queue tools')
  .command('replay')
  .description(
    'send dead-lettered events back into intake.raw (after a fix), continuing after the last replay',
  )
  .option('--from-beginning', 'replay the whole DLQ again, not only what was not replayed yet')
  .addOption(new Option('--limit <n>', 'replay at most n records').argParser(positive))
  .option('--type <type>', 'replay only events of this type (others are skipped)')
  .option('--dry-run', 'count what would be replayed; send and commit nothing')
  .option(
    '--brokers <list>',
    'Kafka bootstrap brokers (default: INTAKE_KAFKA_BROKERS or the local fleet)',
  )
  .action(
    async (opts: {
      fromBeginning?: boolean;
      limit?: number;
      type?: string;
      dryRun?: boolean;
      brokers?: string;
    }) => {
      const { kafka, kafkaConfig } = cliKafka(opts.brokers);
      const result = await replayDlq({
        kafka,
        dlqTopic: kafkaConfig.topics.dlq,
        rawTopic: kafkaConfig.topics.raw,
        groupId: 'intake-dlq-replay',
        fromBeginning: Boolean(opts.fromBeginning),
        limit: opts.limit ?? 0,
        type: opts.type,
        dryRun: Boolean(opts.dryRun),
        progress: process.stderr.isTTY,
      });
      say(
        `${opts.dryRun ? 'would replay' : 'replayed'} ${result.replayed} of ${result.scanned} DLQ records` +
          (result.skipped ? ` (${result.skipped} skipped by --type)` : ''),
      );
    },
  );

program
  .command('audit')
  .description(
    'audit intake.raw, intake.processed and intake.dlq by event id: lost, unprocessed, duplicates, order',
  )
  .option('--acked <file>', 'ids a client was told were accepted (one per line, or NDJSON with id)')
  .option('--since <when>', 'scan from this time (30m, 2h, 1d or ISO) instead of the beginning')
  .option('--json', 'print the whole report as JSON')
  .option(
    '--brokers <list>',
    'Kafka bootstrap brokers (default: INTAKE_KAFKA_BROKERS or the local fleet)',
  )
  .action(async (opts: { acked?: string; since?: string; json?: boolean; brokers?: string }) => {
    const { kafka, kafkaConfig } = cliKafka(opts.brokers);
    const bar = process.stderr.isTTY
      ? new SingleBar(
          { format: 'scanning {bar} {value}/{total} records', hideCursor: true },
          Presets.shades_classic,
        )
      : null;
    bar?.start(1, 0);
    const report = await runAudit(kafka, kafkaConfig.topics, {
      ackedFile: opts.acked,
      sinceMs: opts.since ? parseSince(opts.since) : undefined,
      onProgress: (read, total) => {
        bar?.setTotal(Math.max(1, total));
        bar?.update(read);
      },
    });
    bar?.stop();
    if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else console.table(summary(report));
    if (hasLoss(report)) {
      say('acknowledged events are missing: see the report (exit 1)');
      process.exitCode = 1;
    }
  });

addSourceCommands(program, cliKafka);

/** A Kafka client for CLI commands: --brokers, else INTAKE_KAFKA_BROKERS, else the local fleet. */
function cliKafka(brokersOption: string | undefined): {
  kafka: KafkaClient;
  kafkaConfig: KafkaConfig;
} {
  const env = new EnvReader(process.env);
  const kafkaConfig = readKafkaConfig(env, 'intake-cli');
  env.done();
  const plan = makePlan(root);
  const brokers =
    brokersOption?.split(',') ??
    (process.env.INTAKE_KAFKA_BROKERS ? kafkaConfig.brokers : kafkaBrokerList(plan));
  return {
    kafka: createKafkaClient({ ...kafkaConfig, brokers }, createLogger('cli'), { silent: true }),
    kafkaConfig,
  };
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got ${value}`);
  return n;
}

function printWelcome(plan: FleetPlan, seconds: number, detached: boolean): void {
  const url = `http://127.0.0.1:${plan.httpPort}`;
  process.stdout.write(
    [
      '',
      `Intake is running (ready in ${seconds.toFixed(1)} s): ${plan.edges.length} edges, ${plan.workers.length} workers, Kafka on ${kafkaBrokers(plan)}.`,
      '',
      `  API key:         ${plan.stateDir}/api-key (source "local")`,
      `  Send an event:   curl -si ${url}/v1/events -H "Authorization: Bearer $(cat ${plan.stateDir}/api-key)" \\`,
      `                     -H 'content-type: application/json' \\`,
      `                     -d '{"type":"page_view","key":"visitor-1","data":{"path":"/"}}'`,
      `  Read results:    npm run kafka -- console-consumer --bootstrap-server ${kafkaBrokers(plan)} --topic intake.processed --from-beginning`,
      `  Subscribe:       curl -N "${url}/v1/subscribe/processed?key=visitor-1" -H "Authorization: Bearer $(cat ${plan.stateDir}/api-key)"`,
      `  Stream:          npm run intake -- stream < events.ndjson   (WebSocket, resends after a reconnect)`,
      `  Add a source:    npm run intake -- sources add shop   (admin API: ${url}/admin/sources, key ${process.env.INTAKE_ADMIN_KEY ? 'in INTAKE_ADMIN_KEY' : `in ${plan.stateDir}/admin-key`})`,
      `  Shop demo:       ${url}/demo/   (a page with the browser tracker, ${url}/v1/intake.js)`,
      ...(plan.demo.length > 0
        ? [
            `  Demo puller:     pulls the SSE stream of 127.0.0.1:${plan.demo[0]!.port}/events into intake.raw (INTAKE_DEMO_PULLER=off to skip)`,
          ]
        : []),
      `  Logs:            ${plan.logDir}/`,
      `  Status:          npm run status`,
      detached ? '  Stop:            npm run down' : '  Stop:            Ctrl-C (or npm run down)',
      '',
    ].join('\n'),
  );
}

/** Shows a live status line until Ctrl-C (or `npm run down`), then stops the fleet. */
async function supervise(plan: FleetPlan): Promise<void> {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (process.stdout.isTTY) process.stdout.write('\n');
    say('stopping the fleet ...');
    down(plan, say).then(
      () => {
        say('fleet stopped');
        process.exit(0);
      },
      (err: unknown) => {
        say(`stopping failed: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let lastPrinted = 0;
  while (!stopping) {
    const state = readState(plan.stateDir);
    if (!state) {
      say('the fleet was stopped elsewhere');
      return;
    }
    const line = statusLine(await fleetStatus(state));
    if (process.stdout.isTTY) {
      process.stdout.write(`\r\x1b[2K${line}  (Ctrl-C stops)`);
    } else if (Date.now() - lastPrinted > 30_000) {
      process.stdout.write(`${line}\n`);
      lastPrinted = Date.now();
    }
    await sleep(1000);
  }
}

program.parseAsync().catch((err: unknown) => {
  say((err as Error).message);
  process.exit(1);
});
