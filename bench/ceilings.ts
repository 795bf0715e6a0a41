/**
 * The ceilings the edge is compared with, on the benchmark's broker:
 *
 * - broker: Kafka's own `kafka-producer-perf-test` (Java client, acks=all, idempotent,
 *   linger.ms=2 like the edge's batcher), records/s of a given size, and its latency at a
 *   fixed rate;
 * - client: a bare producer of each Kafka client the edge can use (kafkajs,
 *   @platformatic/kafka), through the edge's producer port (idempotent, one request in
 *   flight, batches of up to 1 MiB, acks=all, partitions chosen like the edge's), without
 *   HTTP, validation or envelopes;
 * - HTTP: a bare `node:http` handler that parses the JSON body and answers 202, no Kafka.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { TopicPartitions } from '../lib/kafka/partitioner';
import pino from 'pino';
import { createKafkaClient } from '../lib/kafka/client';
import type { KafkaClientName } from '../lib/kafka/port';

export interface PerfTestOptions {
  root: string;
  env: NodeJS.ProcessEnv;
  brokers: string;
  topic: string;
  recordBytes: number;
  records: number;
}

export interface PerfTestResult {
  recordsPerSecond: number;
  /** Kafka's own send-to-ack latency percentiles, ms. */
  p50: number;
  p99: number;
  max: number;
}

/** Records/s from kafka-producer-perf-test's last line, as fast as it can (acks=all). */
export async function brokerCeiling(opts: PerfTestOptions): Promise<number> {
  return (await perfTest(opts, -1)).recordsPerSecond;
}

/**
 * Kafka's own producer at a fixed rate (records/s): its send-to-ack latency is the floor
 * for any HTTP front of this broker on this machine at that rate.
 */
export function brokerLatency(opts: PerfTestOptions, rate: number): Promise<PerfTestResult> {
  return perfTest(opts, rate);
}

// The last line: "N records sent, X records/sec (..), A ms avg latency, M ms max latency,
// P ms 50th, P ms 95th, P ms 99th, P ms 99.9th."
const LAST_LINE =
  /(\d+) records sent, ([\d.]+) records\/sec.*?([\d.]+) ms max latency, (\d+) ms 50th, \d+ ms 95th, (\d+) ms 99th/;

function perfTest(opts: PerfTestOptions, throughput: number): Promise<PerfTestResult> {
  const args = [
    'tool',
    'producer-perf-test',
    '--topic',
    opts.topic,
    '--num-records',
    String(opts.records),
    '--record-size',
    String(opts.recordBytes),
    '--throughput',
    String(throughput),
    '--producer-props',
    `bootstrap.servers=${opts.brokers}`,
    'acks=all',
    'enable.idempotence=true',
    'linger.ms=2',
    'batch.size=262144',
  ];
  return new Promise((ok, fail) => {
    execFile(
      join(opts.root, 'infra', 'kafka', 'kafka.sh'),
      args,
      { env: opts.env, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const m = LAST_LINE.exec(stdout);
        if (err || !m)
          fail(new Error(`producer-perf-test failed: ${err?.message ?? ''}\n${stderr}`));
        else
          ok({
            recordsPerSecond: Number(m[2]),
            max: Number(m[3]),
            p50: Number(m[4]),
            p99: Number(m[5]),
          });
      },
    );
  });
}

/**
 * Records/s bare producers of `client` append in `seconds`, with the edge's batching and
 * concurrency: `producers` idempotent producers (the edge's lanes), each sending batches of
 * about 1 MiB, one request in flight each, through the port the edge uses (`sendBatch`).
 */
export async function clientCeiling(opts: {
  client: KafkaClientName;
  brokers: string[];
  topic: string;
  recordBytes: number;
  seconds: number;
  producers: number;
}): Promise<number> {
  const kafka = createKafkaClient(
    { client: opts.client, clientId: 'bench-client', brokers: opts.brokers },
    pino({ level: 'silent' }),
    { silent: true },
  );
  const admin = kafka.admin();
  await admin.connect();
  const partitions = new TopicPartitions();
  await partitions.refresh(admin, [opts.topic]);
  await admin.disconnect();
  const producers = Array.from({ length: opts.producers }, () => kafka.producer());
  await Promise.all(producers.map((p) => p.connect()));
  const value = Buffer.alloc(opts.recordBytes, 'x');
  const perBatch = Math.floor((1024 * 1024) / (opts.recordBytes + 40));
  let seq = 0;
  const send = (lane: number): Promise<unknown> => {
    const messages = [];
    while (messages.length < perBatch) {
      const key = `visitor-${seq++ % 1000}`;
      const partition = partitions.partition(opts.topic, key);
      // Lanes own the partitions modulo their count, as in the edge.
      if (partition % producers.length === lane) messages.push({ key, value, partition });
    }
    return producers[lane]!.sendBatch({
      topicMessages: [{ topic: opts.topic, messages }],
    });
  };
  try {
    await Promise.all(producers.map((_, lane) => send(lane))); // warm-up
    let sent = 0;
    const started = performance.now();
    const end = started + opts.seconds * 1000;
    await Promise.all(
      producers.map(async (_, lane) => {
        while (performance.now() < end) {
          await send(lane);
          sent += perBatch;
        }
      }),
    );
    return sent / ((performance.now() - started) / 1000);
  } finally {
    await Promise.all(producers.map((p) => p.disconnect()));
  }
}

const BARE = (port: number): string => `
const http = require('node:http');
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try { JSON.parse(Buffer.concat(chunks).toString()); } catch { res.writeHead(400).end(); return; }
    res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":[]}');
  });
}).listen(${port}, '127.0.0.1');
`;

/** The HTTP ceiling: a bare handler on `port` (parse the JSON body, answer 202). */
export function startBareHttp(port: number): ChildProcess {
  return spawn(process.execPath, ['-e', BARE(port)], { stdio: 'inherit' });
}
