/**
 * Renders the kustomize overlays under `k8s/overlays/` with `infra/k8s/render.sh` (the
 * pinned kustomize Go API, or `kubectl kustomize`) and parses the YAML stream into plain
 * objects for the schema and policy checks.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { projectRoot } from '../../lib/paths';

/** A rendered Kubernetes object: only what every object has is typed. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

const root = projectRoot();

/** Every overlay directory (each has a kustomization.yaml), sorted by name. */
export function overlayNames(): string[] {
  const dir = join(root, 'k8s', 'overlays');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'kustomization.yaml')))
    .map((d) => d.name)
    .sort();
}

/** The YAML that `infra/k8s/render.sh` prints for one overlay (builds the renderer once). */
export function renderYaml(overlay: string): string {
  return execFileSync('bash', [join(root, 'infra', 'k8s', 'render.sh'), overlay], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Parses a multi-document YAML stream; throws on a syntax error or a non-object document. */
export function parseObjects(text: string): K8sObject[] {
  const objects: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`YAML error: ${doc.errors[0]!.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new Error(`a rendered document is not an object: ${JSON.stringify(value)}`);
    }
    const obj = value as Partial<K8sObject>;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      throw new Error(`a rendered object has no apiVersion/kind: ${JSON.stringify(value)}`);
    }
    if (typeof obj.metadata?.name !== 'string') {
      throw new Error(`a rendered ${obj.kind} has no metadata.name`);
    }
    objects.push(obj as K8sObject);
  }
  return objects;
}

/** `Kind/name` for messages. */
export const idOf = (obj: K8sObject): string => `${obj.kind}/${obj.metadata.name}`;
