/**
 * Writes the generated part of docs/performance.md (between the two `bench:generated`
 * markers; the hand-written sections around it stay) and docs/performance-chart.svg from
 * bench/results.json: the machine, the method, the table, the ratios against the goals,
 * the latency at half load, RSS, what bounds each figure and the edge's CPU profile. The
 * chart is drawn by vega-lite (compiled to a vega spec, rendered to SVG in Node; no
 * canvas needed).
 *
 *   node dist/bench/report.js        (npm run bench runs it after bench/run.ts)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../lib/paths';
import type { WindowCpu } from './worker-sbml';

const ROOT = projectRoot(__dirname);
const START =
  '<!-- bench:generated:start (bench/report.ts from bench/results.json; do not edit) -->';
const END = '<!-- bench:generated:end -->';

interface Fig {
  unit: string;
  median: number;
  min: number;
  max: number;
  runs: number[];
  p99ms?: number;
  failed: number;
}
interface Results {
  machine: Record<string, string | number>;
  method: {
    seconds: number;
    repetitions: number;
    generator: string;
    pinning: string;
    workerEvents: number;
    eventBytes: Record<string, number>;
    /** Which Kafka client the edges used (absent in older runs). */
    kafkaClient?: string;
  };
  figures: Record<string, Fig>;
  ratios: Record<string, number>;
  goals: { goal: string; value: number; target: string; met: boolean }[];
  latency: {
    rate: number;
    /** At that rate without workers: the goal's figure (absent in runs before 2026-11-26). */
    edgeAloneMs?: Record<string, number>;
    /** The same, the fleet on the other Kafka client (absent in runs before 2026-11-30). */
    otherClient?: string;
    edgeAloneOtherClientMs?: Record<string, number>;
    /** Kafka's own producer at that rate (absent in runs before 2026-11-26). */
    kafkaProducerMs?: Record<string, number>;
    /** The same on the other client's fleet's broker (absent in runs before 2026-12-06). */
    kafkaProducerOtherClientMs?: Record<string, number>;
    /** Each window's p99, in order (absent in runs before 2026-12-06). */
    edgeAloneP99s?: number[];
    kafkaProducerP99s?: number[];
    edgeAloneOtherClientP99s?: number[];
    kafkaProducerOtherClientP99s?: number[];
    edgeMs: Record<string, number>;
    endToEndMs: Record<string, number>;
    /** The same with HML workers (absent in runs before 2026-11-30). */
    endToEndHmlMs?: Record<string, number>;
    /**
     * Each mode's window of median p99 of alternating windows, with each window's p99, and
     * the same on the other client's fleet (absent in runs before 2026-12-07: one window each).
     */
    endToEndP99s?: number[];
    endToEndHmlP99s?: number[];
    endToEndOtherClientMs?: Record<string, number>;
    endToEndHmlOtherClientMs?: Record<string, number>;
    endToEndOtherClientP99s?: number[];
    endToEndHmlOtherClientP99s?: number[];
    edgeStatus: Record<string, number>;
  } | null;
  rssMb: Record<string, number>;
  /** Seconds from each worker-benchmark run's start to being in its consumer group (absent before 2026-11-30). */
  workerStartSeconds?: Record<string, number>;
  /** CPU per event over each worker-benchmark row's rate span (absent before 2026-12-06). */
  workerWindowCpu?: Record<string, WindowCpu>;
  profile: { function: string; where: string; selfPercent: number }[];
  seconds: number;
  at: string;
}

const n = (x: number): string =>
  Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : 'n/a';

/** What bounds a figure, by the start of its name. */
const BOUNDS: [string, string][] = [
  [
    'broker ceiling',
    'the broker: one Kafka 4.1.1 broker (acks=all, fsync left to the OS) and the Java client, sharing the 2 cores with everything else',
  ],
  [
    'client ceiling',
    "the client library (kafkajs or @platformatic/kafka): as many idempotent producers as the edge has producer lanes (1 by default), one request in flight each, encoding in JavaScript, through the edge's producer port; no HTTP",
  ],
  [
    'bare node:http',
    'HTTP parsing and JSON.parse in one Node process on one core; no Kafka, no validation',
  ],
  [
    'Benthos',
    "Benthos' http_server (one message per request, split for arrays) and kafka_franz's idempotent producer, on one core",
  ],
  [
    'edge direct',
    'the edge process on one core: HTTP, validation, envelopes, and waiting for acks=all before the 202',
  ],
  ['nginx + 1 edge', 'as edge direct, plus the nginx hop (unpinned, competing for the cores)'],
  [
    'nginx + 2 edges',
    'two edge processes on 2 cores shared with nginx, the broker and the load generator: the machine',
  ],
  ['bare consume', 'consume and produce on one client, no pipeline, no log'],
  [
    'worker',
    'per-event JavaScript work (parse, pipeline, re-serialise); SBML adds one LMDB commit per chunk',
  ],
];

/** Each latency window's p99 (ms) per fleet, edges and Kafka's producer: how far single windows swing. */
function p99s(l: NonNullable<Results['latency']>): string {
  const list = (xs: number[]): string => xs.join(', ');
  if (!l.edgeAloneP99s || !l.kafkaProducerP99s) return '';
  const other =
    l.edgeAloneOtherClientP99s && l.kafkaProducerOtherClientP99s
      ? `; on ${l.otherClient ?? 'the other client'}: edges ${list(l.edgeAloneOtherClientP99s)}, producer ${list(l.kafkaProducerOtherClientP99s)}`
      : '';
  return ` (each window's p99 in ms, in order: edges ${list(l.edgeAloneP99s)}, producer ${list(l.kafkaProducerP99s)}${other})`;
}

/** An end-to-end row (none when not measured): its events, and those that never arrived. */
function endToEndRows(
  workers: string,
  ms: Record<string, number> | undefined,
): (string | number)[][] {
  if (!ms) return [];
  const missing = ms.missing ? `, ${ms.missing} not seen within 30 s (counted as 30 s)` : '';
  return [
    [
      `end to end (accepted -> in intake.processed), ${workers}, ${ms.count} events${missing}`,
      ms.p50!,
      ms.p99!,
      ms.max!,
    ],
  ];
}

/** Each end-to-end window's p99, in order (runs before 2026-12-07 had one window). */
function endToEndP99s(l: NonNullable<Results['latency']>): string {
  const list = (xs?: number[]): string => (xs ?? []).join(', ');
  if (!l.endToEndP99s || !l.endToEndHmlP99s) return '';
  const other = l.endToEndOtherClientP99s
    ? `; the fleet on ${l.otherClient ?? 'the other client'}: SBML ${list(l.endToEndOtherClientP99s)}, HML ${list(l.endToEndHmlOtherClientP99s)}`
    : '';
  return ` Each end-to-end row is the window of median p99 of ${l.endToEndP99s.length} windows of each mode, SBML and HML alternately, with the same fleet and rate (each window's p99 in ms, in order: SBML ${list(l.endToEndP99s)}, HML ${list(l.endToEndHmlP99s)}${other}).`;
}

function table(head: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

async function chart(r: Results): Promise<string> {
  // NOTE: vega and vega-lite are ES modules with top-level await: import(), not require().
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const targets = [
    ['broker ceiling (kafka-producer-perf-test)', 'broker ceiling'],
    ['client ceiling (bare kafkajs producer)', 'bare kafkajs'],
    ['bare node:http (HTTP ceiling)', 'bare node:http'],
    ['Benthos (peer)', 'Benthos'],
    ['edge direct (1)', 'edge direct'],
    ['nginx + 1 edge', 'nginx + 1 edge'],
    ['nginx + 2 edges', 'nginx + 2 edges'],
  ];
  const values: { target: string; shape: string; median: number; min: number; max: number }[] = [];
  for (const [prefix, label] of targets) {
    for (const [suffix, shape] of [
      ['single', 'single (req/s)'],
      ['batched 300 B', 'batched, 300 B (events/s)'],
      ['300 B', 'batched, 300 B (events/s)'],
      ['batched 1 KB', 'batched, 1 KB (events/s)'],
      ['1 KB', 'batched, 1 KB (events/s)'],
    ]) {
      const f = r.figures[`${prefix}, ${suffix}`];
      if (f)
        values.push({ target: label!, shape: shape!, median: f.median, min: f.min, max: f.max });
    }
  }
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Throughput, median of ${r.method.repetitions} (min-max), log scale`,
    data: { values },
    width: 520,
    height: { step: 12 },
    facet: {
      row: {
        field: 'target',
        type: 'nominal',
        sort: targets.map((t) => t[1]),
        title: null,
        header: { labelAngle: 0, labelAlign: 'left' },
      },
    },
    spec: {
      layer: [
        {
          mark: 'bar',
          encoding: {
            x: {
              field: 'median',
              type: 'quantitative',
              scale: { type: 'log' },
              title: 'per second',
            },
            y: { field: 'shape', type: 'nominal', axis: null },
            color: { field: 'shape', type: 'nominal', title: null },
          },
        },
        {
          mark: { type: 'rule', color: 'black' },
          encoding: {
            x: { field: 'min', type: 'quantitative' },
            x2: { field: 'max' },
            y: { field: 'shape', type: 'nominal' },
          },
        },
      ],
    },
    config: { legend: { orient: 'bottom', labelLimit: 400 } },
  };
  const compiled = vl.compile(spec as Parameters<typeof vl.compile>[0]).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  return view.toSVG();
}

/** bench/results-sources.json, as bench/sources.ts writes it. */
interface SourcesResults {
  date: string;
  seconds: number;
  reps: number;
  isolation: {
    calmRate: number;
    floodQuota: number;
    floodRate: number;
    calmP99MsAlone: number;
    calmP99MsBesideFlood: number;
    ratio: number;
    calmRefused: number;
    floodRefusedShare: number;
  };
  throughput: {
    eventsPerSecondOff: number;
    eventsPerSecondOn: number;
    ratio: number;
    runsOff: number[];
    runsOn: number[];
  };
}

/** The sources section: isolation beside a flood, and quotas and policies on vs off. */
function sourcesSection(s: SourcesResults): string[] {
  const i = s.isolation;
  const t = s.throughput;
  const met = (ok: boolean): string => (ok ? 'yes' : 'NO');
  return [
    '### Sources: isolation, and quotas and policies on vs off',
    '',
    `From \`bench/results-sources.json\` (bench/sources.ts, run by \`npm run bench\` after the table above, on ${s.date.slice(0, 10)}): the local fleet with 2 edges behind nginx, no workers; medians of ${s.reps} interleaved repetitions of ${s.seconds} s. Isolation: a calm source's single events at ${i.calmRate} requests/s through nginx, alone and beside another source flooding at ${i.floodRate} requests/s, 10x its per-second quota of ${i.floodQuota}. On vs off: one edge, batches of 100 events, closed loop, for a source with no quota and the default policy (off) and one with a per-second and a per-day quota (never reached) and a policy: IP truncated, one field removed, one hashed (on).`,
    '',
    table(
      ['figure', 'value', 'goal', 'met'],
      [
        ['calm source p99 alone, ms', i.calmP99MsAlone, '', ''],
        ['calm source p99 beside the flood, ms', i.calmP99MsBesideFlood, '', ''],
        ['isolation ratio (beside / alone)', i.ratio, '<= 1.5', met(i.ratio <= 1.5)],
        [
          "calm source's requests refused during the flood",
          i.calmRefused,
          '0',
          met(i.calmRefused === 0),
        ],
        ['flood requests refused (429)', `${Math.round(i.floodRefusedShare * 1000) / 10}%`, '', ''],
        ['events/s, quotas and policies off', n(t.eventsPerSecondOff), '', ''],
        ['events/s, quotas and policies on', n(t.eventsPerSecondOn), '', ''],
        ['on / off', t.ratio, '>= 0.9', met(t.ratio >= 0.9)],
      ],
    ),
    '',
  ];
}

function markdown(r: Results, sources: SourcesResults | null): string {
  const m = r.machine;
  const rows = Object.entries(r.figures).map(([name, f]) => [
    name,
    f.unit,
    n(f.median),
    `${n(f.min)}-${n(f.max)}`,
    f.p99ms === undefined ? '' : f.p99ms.toFixed(1),
    f.failed,
  ]);
  const bounds = Object.keys(r.figures)
    .map((name) => BOUNDS.find(([prefix]) => name.startsWith(prefix)))
    .filter((b, i, all): b is [string, string] => !!b && all.indexOf(b) === i);
  const l = r.latency;
  const busy = Math.max(Number(m.loadAverageAtStart), Number(m.loadAverageAtEnd)) > Number(m.cores);
  return [
    START,
    '',
    `Generated from \`bench/results.json\`, written by \`npm run bench\` on ${r.at.slice(0, 10)} in ${r.seconds} s.`,
    '',
    '### Machine',
    '',
    `${m.cpu}, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}; one Kafka 4.1.1 broker, everything on 127.0.0.1. Load average ${m.loadAverageAtStart} at the start and ${m.loadAverageAtEnd} at the end (${busy ? 'above' : 'not above'} ${m.cores}: ${busy ? 'other work shared the machine, and the absolute figures are low and noisy' : 'the machine was otherwise quiet'}; compare the ratios, which are taken within the run).`,
    '',
    '### Method',
    '',
    `- Every figure is the median of ${r.method.repetitions} interleaved repetitions of ${r.method.seconds} s, with min and max; all targets share one broker and the same events (~${r.method.eventBytes.single} B single events; batches of 100 events of ~300 B or ~1 KB as JSON; the ceilings write records of 300 B or 1 KB).`,
    `- HTTP load: ${r.method.generator}. The maximum rate is what the target answers with 2xx in that loop; "failed" counts other answers.`,
    `- Pinning: ${r.method.pinning}.`,
    ...(r.method.kafkaClient ? [`- Kafka client: ${r.method.kafkaClient}.`] : []),
    `- Worker: ${r.method.workerEvents.toLocaleString('en-US')} events of ~300 B already in a raw topic; events/s from the moment each is in its consumer group (the bare consume->produce: its group join; the worker: its first ready answer, given once its consumer joined) to the last output record (the topic's size polled every 20 ms): the same span for both, without start-up (Node's start, connecting, the worker's log and state checks, joining: listed under "Start-up" below) (bench/worker-sbml.ts). SBML: the local outbound log (the default); HML: Kafka transactions (\`INTAKE_LOGGING=hml\`); SBML off: send and wait.`,
    "- Latency: single events at a constant rate (vegeta, open model) of 50% of the measured maximum of nginx + 2 edges: first the fleet as measured (no workers: the goal's figure) alternating with Kafka's own producer at the same rate on the same broker (its send-to-ack latency: the floor), the same for the fleet with its edges on the other Kafka client (started afresh with a broker of its own, and first given each shape at the maximum rate, unrecorded, as the first fleet was), then the fleet with 2 worker processes (SBML on, default pipeline, on the fleet's Kafka client) consuming, alternating with the same with 2 HML workers, and both again on the fleet with its edges on the other client, each window started once both workers share the raw partitions and have processed an event of each, its load the events of 1,000 visitors (keys) in turn; end to end is from the edge's `receivedAt` to a consumer of `intake.processed` (read_committed) seeing the event.",
    '',
    '### Results',
    '',
    '![throughput chart](performance-chart.svg)',
    '',
    table(['target', 'unit', 'median', 'min-max', 'p99 ms', 'failed'], rows),
    '',
    '### Ratios (same run) and goals',
    '',
    table(
      ['ratio', 'value'],
      Object.entries(r.ratios).map(([k, v]) => [k, v]),
    ),
    '',
    table(
      ['goal', 'value', 'target', 'met'],
      r.goals.map((g) => [g.goal, g.value, g.target, g.met ? 'yes' : 'NO']),
    ),
    '',
    '### Latency at half the maximum rate',
    '',
    l
      ? table(
          ['at', 'p50 ms', 'p99 ms', 'max ms'],
          [
            ...(l.edgeAloneMs
              ? [
                  [
                    `edge answer through nginx (vegeta), ${l.rate} req/s, no workers`,
                    l.edgeAloneMs.p50!,
                    l.edgeAloneMs.p99!,
                    l.edgeAloneMs.max!,
                  ],
                ]
              : []),
            ...(l.edgeAloneOtherClientMs
              ? [
                  [
                    `the same, the edges on ${l.otherClient ?? 'the other client'}`,
                    l.edgeAloneOtherClientMs.p50!,
                    l.edgeAloneOtherClientMs.p99!,
                    l.edgeAloneOtherClientMs.max!,
                  ],
                ]
              : []),
            ...(l.kafkaProducerMs
              ? [
                  [
                    `Kafka's own producer (kafka-producer-perf-test, acks=all), ${l.rate} records/s of 300 B: send to ack`,
                    l.kafkaProducerMs.p50!,
                    l.kafkaProducerMs.p99!,
                    l.kafkaProducerMs.max!,
                  ],
                ]
              : []),
            ...(l.kafkaProducerOtherClientMs
              ? [
                  [
                    `the same on the broker of the fleet on ${l.otherClient ?? 'the other client'}`,
                    l.kafkaProducerOtherClientMs.p50!,
                    l.kafkaProducerOtherClientMs.p99!,
                    l.kafkaProducerOtherClientMs.max!,
                  ],
                ]
              : []),
            [
              `edge answer through nginx (vegeta), ${l.rate} req/s, 2 workers running`,
              l.edgeMs.p50!,
              l.edgeMs.p99!,
              l.edgeMs.max!,
            ],
            ...endToEndRows('SBML workers', l.endToEndMs),
            ...endToEndRows('HML workers (read_committed reader)', l.endToEndHmlMs),
            ...endToEndRows(
              `SBML workers, the fleet on ${l.otherClient ?? 'the other client'}`,
              l.endToEndOtherClientMs,
            ),
            ...endToEndRows(
              `HML workers, the fleet on ${l.otherClient ?? 'the other client'}`,
              l.endToEndHmlOtherClientMs,
            ),
          ],
        )
      : 'not measured',
    '',
    `The goal's figures are the first four rows: the fleet as its maximum was measured, on each Kafka client, and the floor each fleet's broker sets on this machine: Kafka's own Java producer, at the same rate, waits that long for its acks (acks=all), before any HTTP. Each is the window of median p99 of ${r.method.repetitions} alternating windows, the edges' and the producer's, on that fleet's broker${l ? p99s(l) : ''}. With the 2 workers, their pipeline, the topics they write and the latency consumer share the same 2 cores, and at this rate the machine is at capacity: requests queue, which the row with 2 workers running and the end-to-end rows show. On a deployment the workers run on machines of their own.${l ? endToEndP99s(l) : ''}`,
    '',
    '### Memory (RSS at peak)',
    '',
    table(
      ['process', 'MB'],
      Object.entries(r.rssMb).map(([k, v]) => [k, v]),
    ),
    '',
    ...(r.workerStartSeconds
      ? [
          '### Start-up of the worker benchmark runs',
          '',
          "Seconds from a run's start (the bare consume->produce: its `run()`, already connected; a worker: its process spawned) to the moment it is in its consumer group (median). The worker rates above start there.",
          '',
          table(
            ['run', 's'],
            Object.entries(r.workerStartSeconds).map(([k, v]) => [k, v]),
          ),
          '',
        ]
      : []),
    ...(r.workerWindowCpu ? windowCpuSection(r.workerWindowCpu, Number(r.machine.cores)) : []),
    ...(sources ? sourcesSection(sources) : []),
    '### What bounds each figure',
    '',
    ...bounds.map(([prefix, why]) => `- **${prefix}**: ${why}.`),
    '',
    '### Where the edge spends its CPU at peak',
    '',
    "V8 sampling profile (`node --cpu-prof`) of one edge taking closed-loop load directly, single events then batches of 100; self time per function, top 15; lines are those of the compiled `dist/` JavaScript. `(idle)` is time V8 attributes to no JavaScript; it is not waiting: the edge's main thread runs at 100% of a core at peak (`top -H`), and giving the edge three producers (`INTAKE_PRODUCER_LANES=3`, three requests in flight) did not raise its throughput against this local broker. What bounds the edge is its own per-event work, about a third of it kafkajs encoding records and headers in JavaScript:",
    '',
    table(
      ['self %', 'function', 'where'],
      r.profile.map((p) => [p.selfPercent, `\`${p.function}\``, p.where ? `\`${p.where}\`` : '']),
    ),
    '',
    END,
  ].join('\n');
}

async function main(): Promise<void> {
  const results = JSON.parse(readFileSync(join(ROOT, 'bench', 'results.json'), 'utf8')) as Results;
  const sourcesFile = join(ROOT, 'bench', 'results-sources.json');
  const sources = existsSync(sourcesFile)
    ? (JSON.parse(readFileSync(sourcesFile, 'utf8')) as SourcesResults)
    : null;
  writeFileSync(join(ROOT, 'docs', 'performance-chart.svg'), `${await chart(results)}\n`);
  const file = join(ROOT, 'docs', 'performance.md');
  const doc = readFileSync(file, 'utf8');
  const start = doc.indexOf(START);
  const end = doc.indexOf(END);
  if (start < 0 || end < start)
    throw new Error(`docs/performance.md has no ${START} ... ${END} markers`);
  writeFileSync(
    file,
    `${doc.slice(0, start)}${markdown(results, sources)}${doc.slice(end + END.length)}`,
  );
  console.log('docs/performance.md and docs/performance-chart.svg written from bench/results.json');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});

/** The broker's and the consuming process's CPU per event in each worker-benchmark row. */
function windowCpuSection(cpu: Record<string, WindowCpu>, cores: number): string[] {
  return [
    '### CPU per event in the worker rows (the two cores)',
    '',
    `Over each row's rate span, from /proc (medians): the broker's CPU per event, that of the process doing the consume->produce (the worker; for the bare rows, the benchmark's own process), both, the rate ${cores} cores would allow if both were all the work, and the share of the machine left idle. Idle well above 0 means the machine had room left: such a row is bound by one thread, not by the two cores.`,
    '',
    table(
      ['row', 'broker µs', 'consumer µs', 'both µs', `${cores} cores allow (events/s)`, 'idle'],
      Object.entries(cpu).map(([row, c]) => {
        const both = c.brokerUs + c.consumerUs;
        return [
          row,
          c.brokerUs,
          c.consumerUs,
          +both.toFixed(1),
          n((cores * 1e6) / both),
          `${Math.round(c.idleShare * 100)}%`,
        ];
      }),
    ),
    '',
  ];
}
