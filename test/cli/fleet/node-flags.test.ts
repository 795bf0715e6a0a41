/**
 * The edge's Node flags are written in three places: the fleet (`EDGE_NODE_FLAGS`), the
 * edge image's command (kafkajs, the default client) and the images' entrypoint, which
 * swaps in @platformatic/kafka's set. They must not drift apart.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EDGE_NODE_FLAGS, serviceNodeFlags } from '../../../services/cli/fleet/processes';
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

describe('the edge Node flags', () => {
  it('follow the Kafka client in the fleet', () => {
    expect(serviceNodeFlags('edge', {})).toEqual(EDGE_NODE_FLAGS.kafkajs);
    expect(serviceNodeFlags('edge', { INTAKE_KAFKA_CLIENT: 'platformatic' })).toEqual(
      EDGE_NODE_FLAGS.platformatic,
    );
    expect(serviceNodeFlags('worker', { INTAKE_KAFKA_CLIENT: 'platformatic' })).toEqual([]);
  });

  it("are the image's command for kafkajs, and the entrypoint's for @platformatic/kafka", () => {
    const dockerfile = readFileSync(
      join(ROOT, 'infra', 'images', 'node-service.Dockerfile'),
      'utf8',
    );
    const cmd = /FROM runtime AS edge[\s\S]*?\nCMD (\[.*\])/.exec(dockerfile)?.[1];
    const command = JSON.parse(cmd ?? '[]') as string[];
    expect(command).toEqual(['node', ...EDGE_NODE_FLAGS.kafkajs, 'dist/services/edge/main.js']);

    const edge = { INTAKE_SERVICE: 'edge' };
    expect(entrypointRuns(edge, command).slice(0, -1)).toEqual(EDGE_NODE_FLAGS.kafkajs);
    expect(entrypointRuns({ ...edge, INTAKE_KAFKA_CLIENT: 'platformatic' }, command)).toEqual([
      ...EDGE_NODE_FLAGS.platformatic,
      'dist/services/edge/main.js',
    ]);
    // another service's command is left alone
    expect(
      entrypointRuns({ INTAKE_SERVICE: 'worker', INTAKE_KAFKA_CLIENT: 'platformatic' }, [
        'node',
        'dist/services/worker/main.js',
      ]),
    ).toEqual(['dist/services/worker/main.js']);
  });
});
