/**
 * Schema validation of rendered objects, by apiVersion and kind:
 *
 * - core, apps, batch, policy, autoscaling and networking objects with `kubernetes-models`;
 * - KEDA `ScaledObject` with `@kubernetes-models/keda`;
 * - prometheus-operator `ServiceMonitor` with `@kubernetes-models/prometheus-operator`;
 * - Strimzi `Kafka`, `KafkaNodePool`, `KafkaTopic` against the `openAPIV3Schema` of the
 *   CustomResourceDefinitions in `test/k8s/crds/strimzi/` (kept in the repository), read at
 *   test time and compiled with ajv; a missing CRD folder is an error, never a skip.
 *   Unknown fields are rejected there (as `kubectl apply` does with strict field
 *   validation); `x-kubernetes-validations` (CEL) rules are not evaluated.
 *
 * A kind that none of these knows is an error, never a silent pass.
 *
 * NOTE: the 4.x model packages are used: 5.x are ES modules for Node >= 22, this is Node 20.
 * Their validators check types, required fields and formats but accept unknown fields.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service } from 'kubernetes-models/v1';
import { ServiceAccount } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { K8sObject } from './render';

interface ModelClass {
  apiVersion: string;
  kind: string;
  new (data: never): { validate(): void };
}

const models: ModelClass[] = [
  Namespace,
  ConfigMap,
  Secret,
  Service,
  ServiceAccount,
  PersistentVolumeClaim,
  Deployment,
  StatefulSet,
  Job,
  PodDisruptionBudget,
  HorizontalPodAutoscaler,
  Ingress,
  NetworkPolicy,
  ScaledObject,
  ServiceMonitor,
];

const key = (apiVersion: string, kind: string): string => `${apiVersion}|${kind}`;

/** The Strimzi API group, whose kinds validate against the CRDs. */
export const strimziGroup = 'kafka.strimzi.io';

export interface CrdSchemas {
  /** `apiVersion|kind` -> compiled validator of every served version. */
  validators: Map<string, ValidateFunction>;
  /** Files read, for the report. */
  files: string[];
}

/** Where the Strimzi CRDs are: `test/k8s/crds/strimzi/`, or `$INTAKE_K8S_CRDS/strimzi`. */
export function strimziCrdDir(): string {
  return join(process.env.INTAKE_K8S_CRDS ?? join(__dirname, 'crds'), 'strimzi');
}

/**
 * Compiles the served versions of every CRD in `dir`; throws when the folder is absent or
 * holds no CRD, naming the folder and INTAKE_K8S_CRDS.
 * Objects with declared properties and no `additionalProperties` /
 * `x-kubernetes-preserve-unknown-fields` reject unknown fields.
 */
export function loadCrdSchemas(dir: string): CrdSchemas {
  const missing = `set INTAKE_K8S_CRDS to a folder holding strimzi/*.yaml (the repository keeps them in test/k8s/crds/)`;
  if (!existsSync(dir)) throw new Error(`Strimzi CRDs not found: ${dir} is missing; ${missing}`);
  const ajv = new Ajv({ strict: false, allErrors: true });
  const validators = new Map<string, ValidateFunction>();
  const files = readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
  for (const file of files) {
    const crd = parse(readFileSync(join(dir, file), 'utf8')) as CustomResourceDefinition | null;
    if (crd?.kind !== 'CustomResourceDefinition') continue;
    for (const version of crd.spec.versions) {
      if (!version.served || !version.schema?.openAPIV3Schema) continue;
      const schema = closeObjects(structuredClone(version.schema.openAPIV3Schema));
      validators.set(
        key(`${crd.spec.group}/${version.name}`, crd.spec.names.kind),
        ajv.compile(schema),
      );
    }
  }
  if (validators.size === 0) throw new Error(`no Strimzi CRD in ${dir}; ${missing}`);
  return { validators, files };
}

interface CustomResourceDefinition {
  kind: string;
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served: boolean; schema?: { openAPIV3Schema?: JsonSchema } }[];
  };
}

type JsonSchema = { [keyword: string]: unknown };

/** Adds `additionalProperties: false` where Kubernetes would prune (and kubectl reject). */
function closeObjects(schema: JsonSchema): JsonSchema {
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const s = node as JsonSchema;
    if (
      s.properties !== undefined &&
      s.additionalProperties === undefined &&
      s['x-kubernetes-preserve-unknown-fields'] !== true
    ) {
      s.additionalProperties = false;
    }
    Object.values(s).forEach(walk);
  };
  walk(schema);
  return schema;
}

export interface SchemaValidator {
  /** Problems of one object; empty when it is valid. Unknown kinds are a problem. */
  validate(obj: K8sObject): string[];
}

export function createSchemaValidator(crds: CrdSchemas): SchemaValidator {
  const byKey = new Map(models.map((m) => [key(m.apiVersion, m.kind), m]));
  return {
    validate(obj) {
      const k = key(obj.apiVersion, obj.kind);
      const model = byKey.get(k);
      if (model) {
        try {
          new model(obj as never).validate();
          return [];
        } catch (err) {
          return [(err as Error).message];
        }
      }
      if (obj.apiVersion.startsWith(`${strimziGroup}/`)) {
        const validate = crds.validators.get(k);
        if (!validate) return [`no served CRD version for ${obj.apiVersion} ${obj.kind}`];
        if (validate(obj)) return [];
        return (validate.errors ?? []).map(
          (e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`,
        );
      }
      return [`unknown kind ${obj.apiVersion} ${obj.kind}: add a schema for it`];
    },
  };
}
