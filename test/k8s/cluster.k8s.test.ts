/**
 * The manifests against a real kube-apiserver (`infra/k8s/cluster.sh`, built from source
 * and run on this machine with etcd): every overlay passes a server-side dry run, and the
 * check fails when the server refuses an object or warns about one. The refusals are
 * mutated copies of a rendered overlay, each with one mistake that only a server finds: a
 * CEL rule of a Strimzi CRD, a selector that does not match its pod template, an unknown
 * field (strict field validation), a KEDA object missing a field its CRD requires, and a
 * Service with a deprecated annotation (a warning: accepted, but the check fails).
 *
 * A machine that cannot run the server at all (no Go, no etcd and no root to install it)
 * skips this suite loudly outside CI; with CI=true it fails.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../lib/paths';
import { K8S_API } from '../support/test-env';
import { overlayNames, parseObjects, renderYaml } from './render';
import type { K8sObject } from './render';

/* eslint-disable @typescript-eslint/no-explicit-any --
   rendered YAML is untyped data: the mutations navigate it by path */

const root = projectRoot();
const script = join(root, 'infra', 'k8s', 'cluster.sh');
const ci = process.env.CI === 'true';

interface Run {
  status: number | null;
  output: string;
}
const cluster = (...args: string[]): Run => {
  const r = spawnSync('bash', [script, ...args], {
    cwd: root,
    // Ports out of the ephemeral range, where the fault scenarios beside this stage hold
    // local ports (test-env.ts: `K8S_API`); a cluster already running keeps its own.
    env: {
      ...process.env,
      INTAKE_K8S_PORT: process.env.INTAKE_K8S_PORT ?? String(K8S_API.port),
      INTAKE_K8S_ETCD_PORT: process.env.INTAKE_K8S_ETCD_PORT ?? String(K8S_API.etcdPort),
    },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 1_800_000,
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
};

// Exit 3: a prerequisite this machine lacks and the script cannot install.
const check = cluster('check');
const runnable = check.status === 0 || ci;
if (!runnable) {
  console.warn(`k8s: SKIPPED: the API server cannot run here:\n${check.output}`);
}
const suite = runnable ? describe : describe.skip;

jest.setTimeout(1_800_000); // the first run builds kube-apiserver and kubectl from source

suite('kube-apiserver server-side dry run', () => {
  it('has what the server needs (Go or the cached build, etcd, openssl)', () => {
    expect(check.output).not.toMatch(/cluster\.sh: .*missing/);
    expect(check.status).toBe(0);
  });

  it('accepts every overlay, warning about nothing, and prints its version', () => {
    const r = cluster('validate');
    expect(r.output).toMatch(/Server Version: v1\.34\.0/);
    expect(overlayNames()).toEqual(expect.arrayContaining(['dev', 'local', 'prod', 'prod-hpa']));
    for (const overlay of overlayNames()) expect(r.output).toContain(`overlay ${overlay}: ok`);
    expect(r.output).not.toMatch(/^\s*Warning:/m);
    expect(r.status).toBe(0);
  });

  describe('refuses a broken copy of an overlay', () => {
    let startedHere = false;
    let dir = '';
    const prod = (): K8sObject[] => parseObjects(renderYaml('prod'));
    const dev = (): K8sObject[] => parseObjects(renderYaml('dev'));
    const find = (objects: K8sObject[], kind: string, name: string): any => {
      const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
      if (!obj) throw new Error(`${kind}/${name} not rendered`);
      return obj;
    };
    /**
     * Writes the objects as one YAML stream and dry-runs it against the server. Each
     * document is JSON: a YAML writer leaves strings such as `on` unquoted, which the
     * server's YAML 1.1 reader takes for booleans.
     */
    const dryRun = (name: string, objects: K8sObject[]): Run => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, objects.map((o) => JSON.stringify(o)).join('\n---\n'));
      return cluster('apply-dry-run', file);
    };

    /** The server's answer must match `message` and the exit code be `status`; prints it. */
    const expectRefused = (r: Run, message: RegExp, status: number): void => {
      const line = r.output.split('\n').find((l) => message.test(l));
      process.stdout.write(`server: ${line ?? '(no matching line)'}\n`);
      expect(r.output).toMatch(message);
      expect(r.status).toBe(status);
    };

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'intake-k8s-'));
      if (cluster('status').output.trim() === 'stopped') {
        const up = cluster('up');
        if (up.status !== 0) throw new Error(`cluster.sh up failed:\n${up.output}`);
        startedHere = true;
      }
    });
    afterAll(() => {
      if (startedHere) cluster('down');
      rmSync(dir, { recursive: true, force: true });
    });

    it('accepts the unchanged prod overlay (the baseline of the copies below)', () => {
      const r = dryRun('prod', prod());
      expect(r.output).toMatch(/kafka\.kafka\.strimzi\.io\/intake serverside-applied/);
      expect(r.status).toBe(0);
    });

    it('a Strimzi Kafka breaking a CEL rule of its CRD (rack without topologyKey)', () => {
      const objects = prod();
      find(objects, 'Kafka', 'intake').spec.kafka.rack = { topologyKey: '' };
      const r = dryRun('cel', objects);
      expectRefused(r, /topologyKey property is required/, 1);
    });

    it("a Deployment whose selector does not match its pod template's labels", () => {
      const objects = prod();
      find(objects, 'Deployment', 'intake-edge').spec.selector.matchLabels[
        'app.kubernetes.io/component'
      ] = 'edges';
      const r = dryRun('selector', objects);
      expectRefused(r, /selector.*does not match template.*labels/i, 1);
    });

    it('an unknown field (strict field validation)', () => {
      const objects = prod();
      find(objects, 'StatefulSet', 'intake-worker').spec.template.spec.containers[0].livenesProbe =
        {};
      const r = dryRun('unknown-field', objects);
      expectRefused(
        r,
        /containers\[name="worker"\]\.livenesProbe: field not declared in schema/,
        1,
      );
    });

    it('a KEDA ScaledObject without the triggers its CRD requires', () => {
      const objects = prod();
      delete find(objects, 'ScaledObject', 'intake-worker').spec.triggers;
      const r = dryRun('keda', objects);
      expectRefused(r, /spec\.triggers: Required value/, 1);
    });

    it('a Service with a deprecated annotation (a warning fails the check too)', () => {
      const objects = dev();
      find(objects, 'Service', 'intake-edge').metadata.annotations = {
        'service.kubernetes.io/topology-aware-hints': 'auto',
      };
      const r = dryRun('warning', objects);
      expectRefused(
        r,
        /Warning: annotation service\.kubernetes\.io\/topology-aware-hints is deprecated/,
        2,
      );
    });
  });
});
