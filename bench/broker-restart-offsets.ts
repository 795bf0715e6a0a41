/**
 * Not a benchmark: a reproduction of a broker's answers after a crash, for whoever checks a
 * Kafka version (docs/guarantees.md, "The committed position is written twice").
 *
 * One broker of its own; six transactional producers, one per partition of `in`, commit
 * `sendOffsets` of group `g` in tiny transactions (HML's shape under light load) while two
 * consumers of `g` are members; the broker is killed (SIGKILL) under that load and
 * started again with CPU hogs beside it (a slow log recovery, as under `npm test`'s
 * parallel stages); then the group's committed offsets are read every second for
 * `AFTER_S` seconds and compared with the last ones acknowledged before the kill.
 *
 *   npm run build && taskset -c 0 node dist/bench/broker-restart-offsets.js
 *
 * Environment: `KAFKA_SH` (infra/kafka/kafka.sh: another checkout's runs another Kafka
 * version), `PORT` (25200), `STATE` (.intake/broker-restart-offsets), `KILL_AFTER_S` (110:
 * past the broker's first minute), `AFTER_S` (40), `HOGS` (6). Prints one JSON line:
 * every distinct answer with when it came, and `stale: true` when any was below what was
 * acknowledged. The answers vary between runs (a race in the broker's start).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import pino from 'pino';
import { createKafkaClient } from '../lib/kafka/client';
import type { Consumer, TransactionalProducer } from '../lib/kafka/port';

const ROOT = resolve(__dirname, '..', '..');
const KAFKA_SH = process.env.KAFKA_SH ?? resolve(ROOT, 'infra/kafka/kafka.sh');
const PORT = process.env.PORT ?? '25200';
const STATE = process.env.STATE ?? resolve(ROOT, '.intake/broker-restart-offsets');
const KILL_AFTER_MS = Number(process.env.KILL_AFTER_S ?? 110) * 1000;
const AFTER_MS = Number(process.env.AFTER_S ?? 40) * 1000;
const HOGS = Number(process.env.HOGS ?? 6);
const PARTITIONS = 6;
const INPUT_PER_PARTITION = 20_000;

const env = { ...process.env, INTAKE_STATE_DIR: STATE, INTAKE_KAFKA_PORT: PORT };
const kafkaSh = (...args: string[]): string =>
  execFileSync('bash', [KAFKA_SH, ...args], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  }).toString();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const kafka = createKafkaClient(
    { client: 'kafkajs', clientId: 'restart-offsets', brokers: [`127.0.0.1:${PORT}`] },
    pino({ level: 'silent' }),
    { silent: true },
  );
  rmSync(STATE, { recursive: true, force: true });
  kafkaSh('start');
  kafkaSh('wait', '60');
  const started = Date.now();
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics([{ topic: 'in', numPartitions: PARTITIONS, replicationFactor: 1 }]);
  await admin.createTopics([{ topic: 'out', numPartitions: PARTITIONS, replicationFactor: 1 }]);
  // Input below every offset the producers commit: the members never read out of range.
  const producer = kafka.producer();
  await producer.connect();
  for (let p = 0; p < PARTITIONS; p++)
    for (let i = 0; i < INPUT_PER_PARTITION; i += 1000)
      await producer.sendBatch({
        topicMessages: [
          {
            topic: 'in',
            messages: Array.from({ length: 1000 }, () => ({ value: 'x', partition: p })),
          },
        ],
      });
  await producer.disconnect();

  const members: Consumer[] = [];
  for (let i = 0; i < 2; i++) {
    const c = kafka.consumer({ groupId: 'g' });
    await c.connect();
    await c.subscribe('in', { fromBeginning: true });
    void c.run({ eachBatch: () => sleep(1000) }).catch(() => undefined);
    members.push(c);
  }

  const committed = new Array<number>(PARTITIONS).fill(0);
  let stop = false;
  const lane = async (p: number): Promise<void> => {
    let tp: TransactionalProducer | null = null;
    while (!stop && committed[p]! < INPUT_PER_PARTITION) {
      try {
        if (!tp) {
          tp = kafka.transactionalProducer({
            transactionalId: `t-${p}`,
            transactionTimeoutMs: 30_000,
          });
          await tp.connect();
        }
        const tx = await tp.begin();
        await tx.sendBatch({
          topicMessages: [{ topic: 'out', messages: [{ value: 'y', partition: p }] }],
        });
        await tx.sendOffsets({
          groupId: 'g',
          topic: 'in',
          partition: p,
          offset: String(committed[p]! + 1),
        });
        await tx.commit();
        if (!stop) committed[p]! += 1;
      } catch {
        await tp?.disconnect().catch(() => undefined);
        tp = null;
        await sleep(300);
      }
    }
  };
  const lanes = Array.from({ length: PARTITIONS }, (_, p) => lane(p));
  while (Date.now() - started < KILL_AFTER_MS) await sleep(200);

  stop = true;
  const acknowledged = [...committed];
  const pid = readFileSync(`${STATE}/kafka-${PORT}/kafka.pid`, 'utf8').trim();
  process.kill(Number(pid), 'SIGKILL');
  await sleep(3000);
  rmSync(`${STATE}/kafka-${PORT}/kafka.pid`, { force: true });
  // Each hog ends on its own after 25 s (the start below blocks this process meanwhile).
  const hogs = Array.from({ length: HOGS }, () =>
    spawn('timeout', ['25', process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' }),
  );
  try {
    kafkaSh('start');
    kafkaSh('wait', '120');
    const answers: { atMs: number; offsets: number[] | string }[] = [];
    const from = Date.now();
    while (Date.now() - from < AFTER_MS) {
      let offsets: number[] | string;
      try {
        offsets = (await admin.fetchOffsets('g', 'in'))
          .sort((a, b) => a.partition - b.partition)
          .map((o) => Number(o.offset));
      } catch (err) {
        offsets = (err as Error).message.slice(0, 80);
      }
      if (JSON.stringify(offsets) !== JSON.stringify(answers.at(-1)?.offsets))
        answers.push({ atMs: Date.now() - from, offsets });
      await sleep(1000);
    }
    const stale = answers.some(
      (a) => Array.isArray(a.offsets) && a.offsets.some((o, p) => o < acknowledged[p]!),
    );
    console.log(JSON.stringify({ acknowledged, answers, stale }));
  } finally {
    for (const h of hogs) h.kill('SIGKILL');
    await Promise.race([Promise.all(lanes), sleep(5000)]);
    await Promise.all(members.map((m) => m.disconnect().catch(() => undefined)));
    await admin.disconnect().catch(() => undefined);
    kafkaSh('stop');
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
