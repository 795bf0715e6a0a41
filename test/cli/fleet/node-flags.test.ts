/**
 * The edge's Node flags are written in three places: the fleet (`EDGE_NODE_FLAGS`), the
 * edge image's command (kafkajs, the default client) and the images' entrypoint, which
 * swaps in @platformatic/kafka's set; the worker's in two: the fleet (`WORKER_NODE_FLAGS`)
 * and the worker image's command. They must not drift apart.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  EDGE_NODE_FLAGS,
  WORKER_NODE_FLAGS,
  serviceNodeFlags,
} from '../../../services/cli/fleet/processes';
import { projectRoot } from '../../../lib/paths';

const ROOT = projectRoot(__dirname);
const ENTRYPOINT = join(ROOT, 'infra', 'images', 'service-entrypoint.sh');

/** What the entrypoint finally runs, with `node` replaced by a script that prints its arguments. */
function entrypointRuns(env: Record<string, string>, command: string[]): string[] {
  const bin = mkdtempSync(join(tmpdir(), 'entrypoint-'));
  try {
    writeFileSync(join(bin, 'node'), '#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n');
    chmodSync(join(bin, 'node'), 0o755);
    const out = execFileSync('sh', [ENTRYPOINT, ...command], {
      env: { PATH: `${bin}:${process.env.PATH ?? ''}`, INTAKE_INSTANCE: 'x', ...env },
    });
    return out.toString().trim().split('\n');
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
}

/** The `CMD` of the image's `stage`, as its argument list. */
function imageCommand(dockerfile: string, stage: string): string[] {
  const cmd = new RegExp(`FROM runtime AS ${stage}\\n[\\s\\S]*?\\nCMD (\\[.*\\])`).exec(
    dockerfile,
  )?.[1];
  return JSON.parse(cmd ?? '[]') as string[];
}

describe('the services Node flags', () => {
  it("follow the edge's Kafka client in the fleet; the worker's are the same on both", () => {
    expect(serviceNodeFlags('edge', {})).toEqual(EDGE_NODE_FLAGS.kafkajs);
    expect(serviceNodeFlags('edge', { INTAKE_KAFKA_CLIENT: 'platformatic' })).toEqual(
      EDGE_NODE_FLAGS.platformatic,
    );
    expect(serviceNodeFlags('worker', {})).toEqual(WORKER_NODE_FLAGS);
    expect(serviceNodeFlags('worker', { INTAKE_KAFKA_CLIENT: 'platformatic' })).toEqual(
      WORKER_NODE_FLAGS,
    );
    expect(serviceNodeFlags('puller', {})).toEqual([]);
  });

  it("are the image's command for kafkajs, and the entrypoint's for @platformatic/kafka", () => {
    const dockerfile = readFileSync(
      join(ROOT, 'infra', 'images', 'node-service.Dockerfile'),
      'utf8',
    );
    const command = imageCommand(dockerfile, 'edge');
    expect(command).toEqual(['node', ...EDGE_NODE_FLAGS.kafkajs, 'dist/services/edge/main.js']);

    const edge = { INTAKE_SERVICE: 'edge' };
    expect(entrypointRuns(edge, command).slice(0, -1)).toEqual(EDGE_NODE_FLAGS.kafkajs);
    expect(entrypointRuns({ ...edge, INTAKE_KAFKA_CLIENT: 'platformatic' }, command)).toEqual([
      ...EDGE_NODE_FLAGS.platformatic,
      'dist/services/edge/main.js',
    ]);
    // another service's command is left alone
    const worker = imageCommand(dockerfile, 'worker');
    expect(worker).toEqual(['node', ...WORKER_NODE_FLAGS, 'dist/services/worker/main.js']);
    expect(
      entrypointRuns({ INTAKE_SERVICE: 'worker', INTAKE_KAFKA_CLIENT: 'platformatic' }, worker),
    ).toEqual([...WORKER_NODE_FLAGS, 'dist/services/worker/main.js']);
  });
});
