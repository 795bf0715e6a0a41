/**
 * The peer: Benthos v4.27.0 (built by scripts/build-benthos.sh into .intake/bin/benthos)
 * with the config in bench/peer/benthos/config.yaml: `http_server` input -> `kafka_franz`
 * output. Its HTTP answer comes only after the output acknowledged the message (Benthos'
 * delivery guarantee), and kafka_franz writes idempotently, which franz-go does with
 * acks=all: the same promise as the edge's 202. A JSON array body is split into one
 * record per event, as the edge does.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export async function startBenthos(opts: {
  root: string;
  port: number;
  brokers: string;
  topic: string;
}): Promise<ChildProcess> {
  const config = join(opts.root, 'bench', 'peer', 'benthos', 'config.yaml');
  const child = spawn(join(opts.root, '.intake', 'bin', 'benthos'), ['-c', config], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      BENCH_PEER_ADDRESS: `127.0.0.1:${opts.port}`,
      BENCH_PEER_BROKERS: opts.brokers,
      BENCH_PEER_TOPIC: opts.topic,
    },
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${opts.port}/v1/events`, {
        method: 'POST',
        body: '{"type":"warm_up"}',
      });
      if (res.ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill();
      throw new Error('Benthos did not start (see its log above)');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
