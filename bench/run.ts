/**
 * `npm run bench`: in ONE run on this machine, on one broker, how close Intake comes to
 * the ceilings and to a peer, with events of ~300 B and ~1 KB:
 *
 *   broker ceiling   kafka-producer-perf-test, acks=all                 (bench/ceilings.ts)
 *   client ceiling   a bare producer of each Kafka client (kafkajs, @platformatic/kafka),
 *                    the edge's batching                                (bench/ceilings.ts)
 *   HTTP ceiling     a bare node:http handler answering 202, no Kafka   (bench/ceilings.ts)
 *   peer             Benthos v4.27.0 http_server -> kafka_franz         (bench/peer.ts)
 *   edge             directly, and through nginx with 1 and 2 edges: single-event
 *                    requests/s and batched (100 per request) events/s; directly also
 *                    with the other Kafka client (INTAKE_KAFKA_CLIENT) than the fleet's;
 *                    then the fleet again on the other client: nginx + 1 edge (batched
 *                    300 B) and the edge's latency at the same half-load rate
 *   Segment path     the direct edge on `POST /v1/batch` (100 track messages of ~300 B,
 *                    docs/api.md), beside its batched 300 B on /v1/events
 *   worker           SBML on / off against a bare consume->produce      (bench/worker-sbml.ts)
 *   latency          accepted at the edge -> seen in intake.processed, p50/p99, at 50% of
 *                    the measured maximum single-event rate              (bench/latency.ts)
 *   RSS              edges and workers at peak; a CPU profile of one edge at peak
 *
 * HTTP load is vegeta for every target; maxima are closed-loop (`-rate=0`, a fixed
 * number of workers that each send the next request when answered: 50 for single events,
 * BENCH_BATCH_WORKERS (48) for batches: enough requests in flight that the edge's one
 * produce request at a time is always full). Every figure is the median of BENCH_REPS (3) interleaved repetitions
 * of BENCH_SECONDS (5) each, with min and max. Pinning (BENCH_PIN=off to disable): vegeta
 * runs on core 1; the single processes compared with each other (the bare HTTP handler,
 * Benthos, the one edge) on core 0; the broker, nginx and the two edges of the 2-edge
 * fleet are not pinned. Ports are shifted by INTAKE_TEST_PORT_OFFSET. Results go to
 * stdout and bench/results.json (docs/performance.md is made from it by bench/report.ts).
 */
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createKafkaClient } from '../lib/kafka/client';
import { KAFKA_CLIENTS } from '../lib/kafka/port';
import type { KafkaClientName } from '../lib/kafka/port';
import { projectRoot } from '../lib/paths';
import { attack } from '../test/load/vegeta';
import type { AttackResult } from '../test/load/vegeta';
import { benchFleetEnv } from './harness';
import { brokerCeiling, brokerLatency, clientCeiling, startBareHttp } from './ceilings';
import { startBenchEdge } from './edge-process';
import type { PerfTestResult } from './ceilings';
import { endToEndLatency } from './latency';
import type { LatencyResult } from './latency';
import { startBenthos } from './peer';
import { profileEdge } from './profile';
import { brokerPidOf, figure, resendSeconds, workerFigures } from './worker-sbml';
import type { Figure } from './worker-sbml';

const ROOT = projectRoot(__dirname);
const OFFSET = Number(process.env.INTAKE_TEST_PORT_OFFSET ?? 0);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const WORKER_EVENTS = Number(process.env.BENCH_WORKER_EVENTS ?? 100_000);
const PIN = process.env.BENCH_PIN !== 'off';
const BATCH_WORKERS = Number(process.env.BENCH_BATCH_WORKERS ?? 48);
/** Each end-to-end latency window's load (seconds). */
const E2E_SECONDS = 2 * SECONDS;
const GEN_CPU = PIN ? '1' : undefined;
/** The edge's producer lanes (its default, 1); the client ceiling gets as many producers. */
const LANES = Number(process.env.INTAKE_PRODUCER_LANES ?? 1);
const SUT_CPU = '0';
/** The fleet's edges use INTAKE_KAFKA_CLIENT (kafkajs by default); one more edge the other. */
const FLEET_CLIENT: KafkaClientName =
  process.env.INTAKE_KAFKA_CLIENT === 'platformatic' ? 'platformatic' : 'kafkajs';
const OTHER_CLIENT: KafkaClientName = FLEET_CLIENT === 'kafkajs' ? 'platformatic' : 'kafkajs';
const CLIENT_NAMES: Record<KafkaClientName, string> = {
  kafkajs: 'kafkajs',
  platformatic: '@platformatic/kafka',
};
/** The RSS figure of the edge on the other client (edge direct). */
const OTHER_EDGE_RSS = `one edge on ${CLIENT_NAMES[OTHER_CLIENT]}, peak`;
// Below the ephemeral range (32768+): a broker restarted between the phases must never
// find its port taken by an outgoing connection of the load.
const PORTS = {
  http: 26080 + OFFSET,
  kafka: 26092 + OFFSET,
  workers: 26101 + OFFSET,
  bare: 26190 + OFFSET,
  peer: 26191 + OFFSET,
  profile: 26192 + OFFSET,
  otherClientEdge: 26193 + OFFSET,
  latencyWorkers: 26150 + OFFSET,
};
const STATE = join(ROOT, '.intake', `bench${OFFSET ? `-${OFFSET}` : ''}`);
const BROKERS = `127.0.0.1:${PORTS.kafka}`;
const fleetEnv = (edges: number, client = FLEET_CLIENT): NodeJS.ProcessEnv => ({
  ...benchFleetEnv({
    stateDir: STATE,
    httpPort: PORTS.http,
    kafkaPort: PORTS.kafka,
    workerBasePort: PORTS.workers,
    edges,
  }),
  INTAKE_KAFKA_CLIENT: client,
});
const cli = (edges: number, client: KafkaClientName, ...args: string[]): void => {
  execFileSync(process.execPath, [join(ROOT, 'dist', 'services', 'cli', 'main.js'), ...args], {
    env: fleetEnv(edges, client),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
};
const say = (text: string): boolean => process.stderr.write(`bench: ${text}\n`);

/** An event whose JSON is about `bytes` long. */
function event(i: number, bytes: number): Record<string, unknown> {
  const e = {
    type: 'page_view',
    key: `visitor-${i % 1000}`,
    data: { path: `/products/${i}`, pad: '' },
  };
  e.data.pad = 'x'.repeat(Math.max(0, bytes - JSON.stringify(e).length));
  return e;
}
const SHAPES = [
  { name: 'single', body: JSON.stringify(event(1, 300)), events: 1, workers: 50 },
  {
    name: 'batched 300 B',
    body: JSON.stringify(Array.from({ length: 100 }, (_, i) => event(i, 300))),
    events: 100,
    workers: BATCH_WORKERS,
  },
  {
    name: 'batched 1 KB',
    body: JSON.stringify(Array.from({ length: 100 }, (_, i) => event(i, 1024))),
    events: 100,
    workers: BATCH_WORKERS,
  },
] as const;

/** Segment's batch path (`POST /v1/batch`): 100 track messages of about 300 B. */
function segmentTrack(i: number): Record<string, unknown> {
  const m = {
    type: 'track',
    event: 'Product Viewed',
    userId: `visitor-${i % 1000}`,
    messageId: `m-${i}`,
    timestamp: '2026-01-01T00:00:00.000Z',
    properties: { path: `/products/${i}`, pad: '' },
  };
  m.properties.pad = 'x'.repeat(Math.max(0, 300 - JSON.stringify(m).length));
  return m;
}
const SEGMENT_BATCH = {
  name: 'Segment /v1/batch 300 B',
  body: JSON.stringify({ batch: Array.from({ length: 100 }, (_, i) => segmentTrack(i)) }),
  events: 100,
  workers: BATCH_WORKERS,
} as const;

interface Row {
  unit: string;
  runs: number[];
  p99: number[];
  non2xx: number;
}
const rows = new Map<string, Row>();
function record(name: string, unit: string, value: number, p99?: number, non2xx = 0): void {
  const row = rows.get(name) ?? { unit, runs: [], p99: [], non2xx: 0 };
  row.runs.push(Math.round(value));
  if (p99 !== undefined) row.p99.push(p99);
  row.non2xx += non2xx;
  rows.set(name, row);
  say(
    `${name}: ${Math.round(value)} ${unit}${p99 !== undefined ? `, p99 ${p99} ms` : ''}${non2xx ? `, ${non2xx} failed` : ''}`,
  );
}

function pin(pid: number | undefined): void {
  if (PIN && pid) execFileSync('taskset', ['-a', '-pc', SUT_CPU, String(pid)], { stdio: 'ignore' });
}

function fleetPids(kind: string): number[] {
  const state = JSON.parse(readFileSync(join(STATE, 'fleet.json'), 'utf8')) as {
    processes: { kind: string; pid: number }[];
  };
  return state.processes.filter((p) => p.kind === kind).map((p) => p.pid);
}

/** Peak summed RSS (MB) of `pids`, sampled every 250 ms until the returned stop(). */
function rssSampler(pids: number[]): () => number {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const out = execFileSync('ps', ['-o', 'rss=', '-p', pids.join(',')]).toString();
      const kb = out.split('\n').reduce((n, l) => n + (Number(l.trim()) || 0), 0);
      peak = Math.max(peak, Math.round(kb / 1024));
    } catch {
      // a process exited
    }
  }, 250);
  return () => {
    clearInterval(timer);
    return peak;
  };
}

/** One closed-loop attack of `shape` (rate 0: as fast as the target answers). */
function closedLoop(
  url: string,
  shape: (typeof SHAPES)[number] | typeof SEGMENT_BATCH,
  key: string,
): ReturnType<typeof attack> {
  return attack({
    url,
    body: shape.body,
    apiKey: key,
    rate: 0,
    seconds: SECONDS,
    maxWorkers: shape.workers,
    ...(GEN_CPU ? { cpus: GEN_CPU } : {}),
  });
}

async function maxRate(
  name: string,
  url: string,
  shape: (typeof SHAPES)[number] | typeof SEGMENT_BATCH,
  key: string,
): Promise<void> {
  const r = await closedLoop(url, shape, key);
  const ok = Object.entries(r.statusCodes)
    .filter(([code]) => code.startsWith('2'))
    .reduce((n, [, c]) => n + c, 0);
  const unit = shape.events === 1 ? 'req/s' : 'events/s';
  record(
    `${name}, ${shape.name}`,
    unit,
    (ok / r.seconds) * shape.events,
    r.latencyMs.p99,
    r.requests - ok,
  );
}

async function createTopics(names: string[]): Promise<void> {
  const admin = createKafkaClient(
    { client: 'kafkajs', clientId: 'bench', brokers: [BROKERS] },
    pino({ level: 'silent' }),
    { silent: true },
  ).admin();
  await admin.connect();
  await admin.createTopics(
    names.map((topic) => ({ topic, numPartitions: 6, replicationFactor: 1 })),
  );
  await admin.disconnect();
}

async function fleetUp(edges: number, client = FLEET_CLIENT): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    cli(edges, client, 'down');
    rmSync(STATE, { recursive: true, force: true });
    say(
      `starting the fleet: broker, nginx, ${edges} edge(s) on ${CLIENT_NAMES[client]}, no workers ...`,
    );
    try {
      cli(edges, client, 'up', '--detach');
      return readFileSync(join(STATE, 'api-key'), 'utf8').trim();
    } catch (err) {
      // A port still held by the previous phase's processes: once more, a little later.
      if (attempt === 2) throw err;
      say('the fleet did not start; retrying in 5 s');
      await new Promise((r) => setTimeout(r, 5000));
    }
  }
}

const floorMs = (k: PerfTestResult): { p50: number; p99: number; max: number } => ({
  p50: k.p50,
  p99: k.p99,
  max: k.max,
});

/** A fleet's p99 goal figures: its edges and Kafka's own producer on its broker. */
interface AgainstFloor {
  /** The edges' window of median p99 (single events at the half-load rate, no workers). */
  edge: AttackResult;
  /** Kafka's own producer's window of median p99, at that rate on the same broker. */
  kafka: PerfTestResult;
  edgeP99s: number[];
  kafkaP99s: number[];
}

/** The window of median p99 among `xs` (the lower middle one of an even count). */
const byP99 = <T>(xs: T[], p99: (x: T) => number): T =>
  [...xs].sort((a, b) => p99(a) - p99(b))[Math.floor((xs.length - 1) / 2)]!;

/** A fleet's end-to-end figures: its SBML and HML workers' windows of median p99. */
interface EndToEnd {
  sbml: LatencyResult;
  hml: LatencyResult;
  sbmlP99s: number[];
  hmlP99s: number[];
}

/**
 * `REPS` windows of SBML workers and of HML workers, alternately (the same rate, the same
 * fleet, the workers on `client`): each mode's window of median p99. A single window's
 * tail swings with what else the 2 cores run then, for either mode.
 */
async function endToEndPair(
  window: (logging: 'sbml' | 'hml') => Promise<LatencyResult>,
): Promise<EndToEnd> {
  const sbml: LatencyResult[] = [];
  const hml: LatencyResult[] = [];
  for (let rep = 1; rep <= REPS; rep++) {
    sbml.push(await window('sbml'));
    hml.push(await window('hml'));
  }
  const p99 = (l: LatencyResult): number => l.endToEndMs.p99;
  return {
    sbml: byP99(sbml, p99),
    hml: byP99(hml, p99),
    sbmlP99s: sbml.map(p99),
    hmlP99s: hml.map(p99),
  };
}

/**
 * The edges at the half-load rate, then Kafka's own producer at that rate on the same
 * broker, `REPS` times alternately; each side's window of median p99 (the bench's
 * medians of interleaved repetitions). A single window's tail swings on either client
 * and for Kafka's own producer alike: the broker's young collections (G1, pauses of up to
 * its 20 ms target) and the machine's other work hold every request in flight
 * (docs/performance.md, "The edge's p99 at half load").
 */
async function againstFloor(
  edgeWindow: () => Promise<AttackResult>,
  floorWindow: () => Promise<PerfTestResult>,
): Promise<AgainstFloor> {
  const edges: AttackResult[] = [];
  const floors: PerfTestResult[] = [];
  for (let rep = 1; rep <= REPS; rep++) {
    edges.push(await edgeWindow());
    floors.push(await floorWindow());
  }
  return {
    edge: byP99(edges, (e) => e.latencyMs.p99),
    kafka: byP99(floors, (k) => k.p99),
    edgeP99s: edges.map((e) => e.latencyMs.p99),
    kafkaP99s: floors.map((k) => k.p99),
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const load0 = loadavg()[0]!;
  const nginx = `http://127.0.0.1:${PORTS.http}/v1/events`;
  const direct = `http://127.0.0.1:${PORTS.http + 1}/v1/events`;
  const rss: Record<string, number> = {};
  let latency: EndToEnd;
  let latencyOther: EndToEnd;
  let halfLoad: AgainstFloor;
  let halfLoadOther: AgainstFloor;
  let profile: Awaited<ReturnType<typeof profileEdge>>;
  let worker: Awaited<ReturnType<typeof workerFigures>>;
  let resend: Figure;
  const children: ChildProcess[] = [];
  try {
    // Phase 1: one edge, the ceilings and the peer, all on one broker.
    let key = await fleetUp(1);
    await createTopics(['bench.perf', 'bench.client', 'bench.benthos']);
    const bare = startBareHttp(PORTS.bare);
    children.push(bare);
    const benthos = await startBenthos({
      root: ROOT,
      port: PORTS.peer,
      brokers: BROKERS,
      topic: 'bench.benthos',
    });
    children.push(benthos);
    pin(bare.pid);
    pin(benthos.pid);
    const edge1 = fleetPids('edge');
    edge1.forEach(pin);
    mkdirSync(join(STATE, 'other-client-edge'), { recursive: true });
    const otherEdge = await startBenchEdge({
      root: ROOT,
      brokers: BROKERS,
      port: PORTS.otherClientEdge,
      apiKey: key,
      dir: join(STATE, 'other-client-edge'),
      instance: 'bench-other-client-edge',
      env: { INTAKE_KAFKA_CLIENT: OTHER_CLIENT },
    });
    children.push(otherEdge.process);
    pin(otherEdge.process.pid);
    const brokerEnv = { ...fleetEnv(1) };
    for (let rep = 1; rep <= REPS; rep++) {
      say(`phase 1 (1 edge), repetition ${rep}/${REPS}`);
      for (const bytes of [300, 1024]) {
        const name = `${bytes === 300 ? '300 B' : '1 KB'}`;
        const records = bytes === 300 ? 100_000 : 50_000;
        record(
          `broker ceiling (kafka-producer-perf-test), ${name}`,
          'records/s',
          await brokerCeiling({
            root: ROOT,
            env: brokerEnv,
            brokers: BROKERS,
            topic: 'bench.perf',
            recordBytes: bytes,
            records,
          }),
        );
        for (const client of KAFKA_CLIENTS) {
          record(
            `client ceiling (bare ${CLIENT_NAMES[client]} producer), ${name}`,
            'records/s',
            await clientCeiling({
              client,
              brokers: [BROKERS],
              topic: 'bench.client',
              recordBytes: bytes,
              seconds: SECONDS,
              producers: LANES,
            }),
          );
        }
      }
      for (const shape of SHAPES) {
        await maxRate(
          'bare node:http (HTTP ceiling)',
          `http://127.0.0.1:${PORTS.bare}/v1/events`,
          shape,
          key,
        );
        await maxRate('Benthos (peer)', `http://127.0.0.1:${PORTS.peer}/v1/events`, shape, key);
        const stop = rssSampler(edge1);
        await maxRate('edge direct (1)', direct, shape, key);
        const stopOther = rssSampler([otherEdge.process.pid!]);
        await maxRate(
          `edge direct (1, ${CLIENT_NAMES[OTHER_CLIENT]})`,
          `${otherEdge.url}/v1/events`,
          shape,
          key,
        );
        rss[OTHER_EDGE_RSS] = Math.max(rss[OTHER_EDGE_RSS] ?? 0, stopOther());
        await maxRate('nginx + 1 edge', nginx, shape, key);
        rss['one edge, peak'] = Math.max(rss['one edge, peak'] ?? 0, stop());
      }
      // beside /v1/events: the same edge (pinned, so events/s per core) on Segment's path
      await maxRate(
        'edge direct (1)',
        direct.replace('/v1/events', '/v1/batch'),
        SEGMENT_BATCH,
        key,
      );
    }
    for (const c of children.splice(0)) c.kill();

    // Phase 2: two edges behind nginx; then latency, the profile and the worker.
    key = await fleetUp(2);
    const edges = fleetPids('edge');
    for (let rep = 1; rep <= REPS; rep++) {
      say(`phase 2 (2 edges), repetition ${rep}/${REPS}`);
      for (const shape of SHAPES) {
        const stop = rssSampler(edges);
        await maxRate('nginx + 2 edges', nginx, shape, key);
        rss['two edges, peak (sum)'] = Math.max(rss['two edges, peak (sum)'] ?? 0, stop());
      }
    }
    const max = figure(rows.get('nginx + 2 edges, single')!.runs).median;
    const half = Math.max(1, Math.round(max / 2));
    const atHalf = (seconds: number, apiKey: string): Promise<AttackResult> =>
      attack({
        url: nginx,
        body: SHAPES[0].body,
        apiKey,
        rate: half,
        seconds,
        ...(GEN_CPU ? { cpus: GEN_CPU } : {}),
      });
    const floor = async (client: KafkaClientName): Promise<() => Promise<PerfTestResult>> => {
      await createTopics(['bench.latency']);
      return () =>
        brokerLatency(
          {
            root: ROOT,
            env: fleetEnv(2, client),
            brokers: BROKERS,
            topic: 'bench.latency',
            recordBytes: 300,
            records: half * 2 * SECONDS,
          },
          half,
        );
    };
    say(
      `edge answer latency at ${half} req/s (50% of ${max}), open model, no workers, and Kafka's own producer at that rate on this broker (the floor), ${REPS} times each ...`,
    );
    const phase2Key = key;
    halfLoad = await againstFloor(() => atHalf(2 * SECONDS, phase2Key), await floor(FLEET_CLIENT));
    const endToEnd =
      (client: KafkaClientName, apiKey: string) =>
      (logging: 'sbml' | 'hml'): Promise<LatencyResult> => {
        say(
          `end-to-end latency at ${half} req/s (50% of ${max}) with 2 ${logging} workers on ${CLIENT_NAMES[client]} ...`,
        );
        return endToEndLatency({
          root: ROOT,
          brokers: BROKERS,
          url: nginx,
          apiKey,
          rate: half,
          seconds: E2E_SECONDS,
          workers: 2,
          adminPortBase: PORTS.latencyWorkers,
          logging,
          client,
          ...(GEN_CPU ? { cpus: GEN_CPU } : {}),
        });
      };
    latency = await endToEndPair(endToEnd(FLEET_CLIENT, phase2Key));
    rss['two workers at 50% load, peak (sum)'] = latency.sbml.workerRssMb;
    say('CPU profile of one edge at peak ...');
    profile = await profileEdge({
      root: ROOT,
      brokers: BROKERS,
      port: PORTS.profile,
      apiKey: key,
      seconds: 2 * SECONDS,
      ...(GEN_CPU ? { cpus: GEN_CPU } : {}),
    });
    // Phase 3: the fleet on the other client, for the goals measured through nginx: nginx +
    // 1 edge (pinned, as in phase 1), then nginx + 2 edges at the same half-load rate (the
    // same Kafka floor).
    const otherName = CLIENT_NAMES[OTHER_CLIENT];
    key = await fleetUp(1, OTHER_CLIENT);
    fleetPids('edge').forEach(pin);
    // warm-up, not recorded: phase 1's edge had run its edge-direct load before each figure
    await closedLoop(nginx, SHAPES[1], key);
    for (let rep = 1; rep <= REPS; rep++) {
      say(`phase 3 (nginx + 1 edge on ${otherName}), repetition ${rep}/${REPS}`);
      await maxRate(`nginx + 1 edge (${otherName})`, nginx, SHAPES[1], key);
    }
    key = await fleetUp(2, OTHER_CLIENT);
    say(
      `edge answer latency on ${otherName} at ${half} req/s, open model, no workers, and Kafka's own producer on this fleet's broker, ${REPS} times each ...`,
    );
    // Warm-up, not recorded, as phase 2's fleet had before its latency: each shape at the
    // maximum rate, then the half-load rate. A fresh broker and fresh edges answer with a
    // longer tail on either client (docs/performance.md, "a cold fleet").
    for (const shape of SHAPES) await closedLoop(nginx, shape, key);
    const phase3Key = key;
    await atHalf(SECONDS, phase3Key);
    halfLoadOther = await againstFloor(
      () => atHalf(2 * SECONDS, phase3Key),
      await floor(OTHER_CLIENT),
    );
    latencyOther = await endToEndPair(endToEnd(OTHER_CLIENT, phase3Key));
    say(`worker: ${WORKER_EVENTS} events, SBML on / off, HML, bare ...`);
    worker = await workerFigures({
      port: PORTS.kafka,
      events: WORKER_EVENTS,
      reps: REPS,
      brokerPid: brokerPidOf({
        ...process.env,
        INTAKE_STATE_DIR: STATE,
        INTAKE_KAFKA_PORT: String(PORTS.kafka),
      }),
      modes: [
        'bare consume->produce',
        'bare consume->produce (platformatic)',
        'worker, SBML off, pass-through',
        'worker, SBML on, pass-through',
        'worker, SBML on, validate,enrich,score',
        'worker, HML, pass-through',
        'worker, HML, validate,enrich,score',
        'worker (platformatic), SBML on, pass-through',
        'worker (platformatic), SBML on, validate,enrich,score',
        'worker (platformatic), HML, validate,enrich,score',
        'worker (platformatic, processing thread), SBML on, validate,enrich,score',
        'worker (platformatic, processing thread), HML, validate,enrich,score',
      ],
    });
    rss['one worker at peak'] = worker.rssMb;
    say('worker: resend of 100,000 outbound log entries after a restart (twice) ...');
    resend = figure([await resendSeconds(100_000), await resendSeconds(100_000)]);
  } finally {
    for (const c of children) c.kill();
    cli(2, FLEET_CLIENT, 'down');
  }

  const figures: Record<string, Figure & { unit: string; p99ms?: number; failed: number }> = {};
  for (const [name, r] of rows) {
    figures[name] = {
      unit: r.unit,
      ...figure(r.runs),
      ...(r.p99.length ? { p99ms: figure(r.p99).median } : {}),
      failed: r.non2xx,
    };
  }
  for (const [name, f] of Object.entries(worker.results))
    figures[name] = { unit: 'events/s', ...f, failed: 0 };
  const m = (name: string): number => figures[name]?.median ?? NaN;
  const ratio = (a: string, b: string): number => +(m(a) / m(b)).toFixed(3);
  const ratios = {
    'Segment /v1/batch / /v1/events, batched 300 B (edge direct)': ratio(
      'edge direct (1), Segment /v1/batch 300 B',
      'edge direct (1), batched 300 B',
    ),
    'nginx + 1 edge / broker ceiling, batched 300 B': ratio(
      'nginx + 1 edge, batched 300 B',
      'broker ceiling (kafka-producer-perf-test), 300 B',
    ),
    'nginx + 2 edges / broker ceiling, batched 300 B': ratio(
      'nginx + 2 edges, batched 300 B',
      'broker ceiling (kafka-producer-perf-test), 300 B',
    ),
    'nginx + 1 edge / client ceiling, batched 300 B': ratio(
      'nginx + 1 edge, batched 300 B',
      'client ceiling (bare kafkajs producer), 300 B',
    ),
    [`nginx + 1 edge (${CLIENT_NAMES[OTHER_CLIENT]}) / client ceiling, batched 300 B`]: ratio(
      `nginx + 1 edge (${CLIENT_NAMES[OTHER_CLIENT]}), batched 300 B`,
      'client ceiling (bare kafkajs producer), 300 B',
    ),
    'nginx + 2 edges / client ceiling, batched 300 B': ratio(
      'nginx + 2 edges, batched 300 B',
      'client ceiling (bare kafkajs producer), 300 B',
    ),
    'nginx + 1 edge / client ceiling, batched 1 KB': ratio(
      'nginx + 1 edge, batched 1 KB',
      'client ceiling (bare kafkajs producer), 1 KB',
    ),
    'edge direct / HTTP ceiling, single': ratio(
      'edge direct (1), single',
      'bare node:http (HTTP ceiling), single',
    ),
    'edge direct / HTTP ceiling, batched 300 B': ratio(
      'edge direct (1), batched 300 B',
      'bare node:http (HTTP ceiling), batched 300 B',
    ),
    'Intake / Benthos, single (edge direct)': ratio(
      'edge direct (1), single',
      'Benthos (peer), single',
    ),
    'Intake / Benthos, batched 300 B (edge direct)': ratio(
      'edge direct (1), batched 300 B',
      'Benthos (peer), batched 300 B',
    ),
    [`Intake / Benthos, batched 300 B (edge direct, ${CLIENT_NAMES[OTHER_CLIENT]})`]: ratio(
      `edge direct (1, ${CLIENT_NAMES[OTHER_CLIENT]}), batched 300 B`,
      'Benthos (peer), batched 300 B',
    ),
    [`edge direct, ${CLIENT_NAMES[OTHER_CLIENT]} / HTTP ceiling, single`]: ratio(
      `edge direct (1, ${CLIENT_NAMES[OTHER_CLIENT]}), single`,
      'bare node:http (HTTP ceiling), single',
    ),
    'Intake / Benthos, batched 1 KB (edge direct)': ratio(
      'edge direct (1), batched 1 KB',
      'Benthos (peer), batched 1 KB',
    ),
    'Intake / Benthos, batched 300 B (nginx + 1 edge)': ratio(
      'nginx + 1 edge, batched 300 B',
      'Benthos (peer), batched 300 B',
    ),
    'nginx + 2 edges / nginx + 1 edge, batched 300 B': ratio(
      'nginx + 2 edges, batched 300 B',
      'nginx + 1 edge, batched 300 B',
    ),
    'SBML on / off': ratio('worker, SBML on, pass-through', 'worker, SBML off, pass-through'),
    'edge p99 / Kafka producer p99, single events at half load': +(
      halfLoad.edge.latencyMs.p99 / halfLoad.kafka.p99
    ).toFixed(3),
    'SBML on / bare consume->produce': ratio(
      'worker, SBML on, pass-through',
      'bare consume->produce',
    ),
    'worker, default pipeline / bare consume->produce': ratio(
      'worker, SBML on, validate,enrich,score',
      'bare consume->produce',
    ),
    'worker, HML / SBML, default pipeline': ratio(
      'worker, HML, validate,enrich,score',
      'worker, SBML on, validate,enrich,score',
    ),
    'worker, HML, default pipeline / bare consume->produce': ratio(
      'worker, HML, validate,enrich,score',
      'bare consume->produce',
    ),
    'worker (platformatic), pass-through / bare consume->produce': ratio(
      'worker (platformatic), SBML on, pass-through',
      'bare consume->produce',
    ),
    'worker (platformatic), default pipeline / bare consume->produce': ratio(
      'worker (platformatic), SBML on, validate,enrich,score',
      'bare consume->produce',
    ),
    'bare consume->produce, platformatic / kafkajs': ratio(
      'bare consume->produce (platformatic)',
      'bare consume->produce',
    ),
    'worker (platformatic), default pipeline / bare consume->produce (platformatic)': ratio(
      'worker (platformatic), SBML on, validate,enrich,score',
      'bare consume->produce (platformatic)',
    ),
    'worker (platformatic), HML, default pipeline / bare consume->produce': ratio(
      'worker (platformatic), HML, validate,enrich,score',
      'bare consume->produce',
    ),
    'worker (platformatic), HML, default pipeline / bare consume->produce (platformatic)': ratio(
      'worker (platformatic), HML, validate,enrich,score',
      'bare consume->produce (platformatic)',
    ),
    'worker (platformatic), SBML, default pipeline, processing thread on / off': ratio(
      'worker (platformatic, processing thread), SBML on, validate,enrich,score',
      'worker (platformatic), SBML on, validate,enrich,score',
    ),
    'worker (platformatic), HML, default pipeline, processing thread on / off': ratio(
      'worker (platformatic, processing thread), HML, validate,enrich,score',
      'worker (platformatic), HML, validate,enrich,score',
    ),
  };
  const goal = (name: string, value: number, target: string, met: boolean): object => ({
    goal: name,
    value,
    target,
    met,
  });
  const fleet = CLIENT_NAMES[FLEET_CLIENT];
  const other = CLIENT_NAMES[OTHER_CLIENT];
  const benthosOther =
    ratios[`Intake / Benthos, batched 300 B (edge direct, ${other})`] ?? Number.NaN;
  const httpOther = ratios[`edge direct, ${other} / HTTP ceiling, single`] ?? Number.NaN;
  // Each fleet against Kafka's own producer on its own broker (phase 3 starts a fresh one).
  const p99Ratio = halfLoad.edge.latencyMs.p99 / halfLoad.kafka.p99;
  const p99RatioOther = halfLoadOther.edge.latencyMs.p99 / halfLoadOther.kafka.p99;
  const nginxOther =
    ratios[`nginx + 1 edge (${other}) / client ceiling, batched 300 B`] ?? Number.NaN;
  const edgeRss = rss['one edge, peak'] ?? Number.NaN;
  const otherRss = rss[OTHER_EDGE_RSS] ?? Number.NaN;
  const e2eP99Hml = (l: EndToEnd): number => l.hml.endToEndMs.p99 / l.sbml.endToEndMs.p99;
  const workerGoal = (row: string, bare: string, target: number): object => {
    const value = ratio(row, bare);
    return goal(`${row} / ${bare}`, value, `>= ${target}`, value >= target);
  };
  // The goals of the issues that set them (the edge's: each holds when at least one
  // supported client meets it; the worker's on @platformatic/kafka: each mode on its own).
  const goals = [
    goal(
      `batched through the edge (nginx + 1 edge, ${fleet}) / bare kafkajs`,
      ratios['nginx + 1 edge / client ceiling, batched 300 B'],
      '>= 0.7',
      ratios['nginx + 1 edge / client ceiling, batched 300 B'] >= 0.7,
    ),
    goal(
      `batched through the edge (nginx + 1 edge, ${other}) / bare kafkajs`,
      nginxOther,
      '>= 0.7',
      nginxOther >= 0.7,
    ),
    goal(
      `Intake / Benthos, batched 300 B (edge direct, ${fleet}, both on core 0)`,
      ratios['Intake / Benthos, batched 300 B (edge direct)'],
      '>= 1.0',
      ratios['Intake / Benthos, batched 300 B (edge direct)'] >= 1,
    ),
    goal(
      `Intake / Benthos, batched 300 B (edge direct, ${other}, both on core 0)`,
      benthosOther,
      '>= 1.0',
      benthosOther >= 1,
    ),
    goal(
      `single events, edge direct (${fleet}) / bare node:http`,
      ratios['edge direct / HTTP ceiling, single'],
      '>= 0.2',
      ratios['edge direct / HTTP ceiling, single'] >= 0.2,
    ),
    goal(
      `single events, edge direct (${other}) / bare node:http`,
      httpOther,
      '>= 0.2',
      httpOther >= 0.2,
    ),
    goal(`edge RSS at peak, MB (${fleet})`, edgeRss, '< 200', edgeRss < 200),
    goal(`edge RSS at peak, MB (${other})`, otherRss, '< 200', otherRss < 200),
    goal('SBML on / off', ratios['SBML on / off'], '>= 0.9', ratios['SBML on / off'] >= 0.9),
    goal(
      `edge p99 / Kafka's own producer p99, single events at 50% of the maximum rate (${fleet})`,
      +p99Ratio.toFixed(3),
      '<= 1.1',
      p99Ratio <= 1.1,
    ),
    goal(
      `edge p99 / Kafka's own producer p99, single events at 50% of the maximum rate (${other})`,
      +p99RatioOther.toFixed(3),
      '<= 1.1',
      p99RatioOther <= 1.1,
    ),
    goal(
      'worker pass-through, SBML on / bare consume->produce',
      ratios['SBML on / bare consume->produce'],
      '>= 0.6',
      ratios['SBML on / bare consume->produce'] >= 0.6,
    ),
    goal(
      'worker default pipeline (validate, enrich, score) / bare consume->produce',
      ratios['worker, default pipeline / bare consume->produce'],
      '>= 0.45',
      ratios['worker, default pipeline / bare consume->produce'] >= 0.45,
    ),
    goal(
      'worker (platformatic) pass-through, SBML on / bare consume->produce',
      ratios['worker (platformatic), pass-through / bare consume->produce'],
      '>= 0.6',
      ratios['worker (platformatic), pass-through / bare consume->produce'] >= 0.6,
    ),
    goal(
      'worker (platformatic) default pipeline / bare consume->produce',
      ratios['worker (platformatic), default pipeline / bare consume->produce'],
      '>= 0.45',
      ratios['worker (platformatic), default pipeline / bare consume->produce'] >= 0.45,
    ),
    goal(
      'worker default pipeline, HML / SBML (the seed: HML performs better)',
      ratios['worker, HML / SBML, default pipeline'],
      '>= 1.0',
      ratios['worker, HML / SBML, default pipeline'] >= 1,
    ),
    workerGoal('worker (platformatic), SBML on, validate,enrich,score', 'bare consume->produce', 1),
    workerGoal('worker (platformatic), HML, validate,enrich,score', 'bare consume->produce', 1),
    workerGoal(
      'worker (platformatic), SBML on, validate,enrich,score',
      'bare consume->produce (platformatic)',
      0.6,
    ),
    workerGoal(
      'worker (platformatic), HML, validate,enrich,score',
      'bare consume->produce (platformatic)',
      0.6,
    ),
    ...(
      [
        [fleet, latency],
        [other, latencyOther],
      ] as const
    ).map(([client, l]) =>
      goal(
        `end-to-end p99 at half load, HML / SBML workers (the fleet on ${client})`,
        +e2eP99Hml(l).toFixed(3),
        '<= 2',
        e2eP99Hml(l) <= 2,
      ),
    ),
    goal(
      'resend of 100,000 outbound log entries after a restart (s)',
      +resend.median.toFixed(2),
      '<= 2',
      resend.median <= 2,
    ),
  ];
  const report = {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      kernel: release(),
      node: process.version,
      loadAverageAtStart: +load0.toFixed(2),
      loadAverageAtEnd: +loadavg()[0]!.toFixed(2),
    },
    method: {
      seconds: SECONDS,
      repetitions: REPS,
      generator: `vegeta v12.13.0, closed loop (-rate=0): 50 workers for single events, ${BATCH_WORKERS} for batches of 100`,
      pinning: PIN
        ? 'vegeta on core 1; bare node:http, Benthos and the one edge on core 0 (taskset); broker, nginx and the 2-edge fleet unpinned'
        : 'none (BENCH_PIN=off)',
      eventBytes: { single: SHAPES[0].body.length, batched300: 300, batched1k: 1024 },
      workerEvents: WORKER_EVENTS,
      kafkaClient: `the fleet's edges: ${CLIENT_NAMES[FLEET_CLIENT]} (INTAKE_KAFKA_CLIENT); "edge direct (1, ${CLIENT_NAMES[OTHER_CLIENT]})": one more edge with the other client, pinned like the first; "nginx + 1 edge (${CLIENT_NAMES[OTHER_CLIENT]})" and the latency's second row: the fleet started again with its edges on the other client (batched 300 B only)`,
    },
    figures,
    ratios,
    goals,
    latency: {
      rate: latency.sbml.rate,
      edgeAloneMs: halfLoad.edge.latencyMs,
      kafkaProducerMs: floorMs(halfLoad.kafka),
      edgeAloneP99s: halfLoad.edgeP99s,
      kafkaProducerP99s: halfLoad.kafkaP99s,
      edgeAloneStatus: halfLoad.edge.statusCodes,
      otherClient: CLIENT_NAMES[OTHER_CLIENT],
      edgeAloneOtherClientMs: halfLoadOther.edge.latencyMs,
      kafkaProducerOtherClientMs: floorMs(halfLoadOther.kafka),
      edgeAloneOtherClientP99s: halfLoadOther.edgeP99s,
      kafkaProducerOtherClientP99s: halfLoadOther.kafkaP99s,
      edgeAloneOtherClientStatus: halfLoadOther.edge.statusCodes,
      edgeMs: latency.sbml.edge.latencyMs,
      edgeStatus: latency.sbml.edge.statusCodes,
      endToEndMs: latency.sbml.endToEndMs,
      endToEndHmlMs: latency.hml.endToEndMs,
      endToEndP99s: latency.sbmlP99s,
      endToEndHmlP99s: latency.hmlP99s,
      endToEndOtherClientMs: latencyOther.sbml.endToEndMs,
      endToEndHmlOtherClientMs: latencyOther.hml.endToEndMs,
      endToEndOtherClientP99s: latencyOther.sbmlP99s,
      endToEndHmlOtherClientP99s: latencyOther.hmlP99s,
    },
    rssMb: rss,
    workerCpuUsPerEvent: worker.cpuUsPerEvent,
    workerStartSeconds: worker.startSeconds,
    workerWindowCpu: worker.windowCpu,
    resendSeconds: resend,
    profile,
    seconds: Math.round((Date.now() - started) / 1000),
    at: new Date().toISOString(),
  };
  mkdirSync(join(ROOT, 'bench'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nIntake benchmark, ${REPS} x ${SECONDS} s per figure, medians (min-max)`);
  console.table(
    Object.fromEntries(
      Object.entries(figures).map(([k, f]) => [
        k,
        {
          unit: f.unit,
          median: f.median,
          min: f.min,
          max: f.max,
          'p99 ms': f.p99ms ?? '',
          failed: f.failed,
        },
      ]),
    ),
  );
  console.log('ratios (same run):', ratios);
  console.table(goals);
  console.log('latency at 50% load:', report.latency);
  console.log('RSS (MB):', rss);
  console.log(`written to bench/results.json in ${report.seconds} s`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
