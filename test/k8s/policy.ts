/**
 * Policy rules over a rendered overlay: what the schemas allow but this project does not.
 * Each rule takes every object of one overlay and returns its violations as messages
 * (empty: the overlay complies), so a test can feed it a broken object and see it fail.
 */
import { workerDefaults } from '../../services/worker/config';
import { edgeDefaults } from '../../services/edge/config';
import { shutdownDefaults } from '../../lib/lifecycle';
import { idOf } from './render';
import type { K8sObject } from './render';

interface Probe {
  [handler: string]: unknown;
}
interface Container {
  name: string;
  image?: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: { command?: string[] } } };
  resources?: {
    requests?: Record<string, string | number>;
    limits?: Record<string, string | number>;
  };
  securityContext?: SecurityContext;
}
interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { drop?: string[] };
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: SecurityContext;
  terminationGracePeriodSeconds?: number;
}
interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export type Rule = (objects: K8sObject[]) => string[];

const longRunning = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
const workloadKinds = new Set([...longRunning, 'Job']);

/** The pod template of a workload (Deployment, StatefulSet, DaemonSet, Job). */
export function podTemplate(
  obj: K8sObject,
): { labels: Record<string, string>; spec: PodSpec } | null {
  if (!workloadKinds.has(obj.kind)) return null;
  const template = (
    obj.spec as { template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } }
  )?.template;
  if (!template) return null;
  return { labels: template.metadata?.labels ?? {}, spec: template.spec };
}

const containersOf = (spec: PodSpec): Container[] => [
  ...(spec.initContainers ?? []),
  ...spec.containers,
];

/** Each workload's containers, with their owner for messages. */
function eachContainer(objects: K8sObject[]): { owner: K8sObject; spec: PodSpec; c: Container }[] {
  const out: { owner: K8sObject; spec: PodSpec; c: Container }[] = [];
  for (const owner of objects) {
    const pod = podTemplate(owner);
    if (pod) for (const c of containersOf(pod.spec)) out.push({ owner, spec: pod.spec, c });
  }
  return out;
}

/** True when `labels` satisfy the selector (matchLabels and matchExpressions). */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  const ml = Object.entries(selector.matchLabels ?? {});
  const me = selector.matchExpressions ?? [];
  if (ml.length === 0 && me.length === 0) return false; // an empty PDB selector is a mistake
  return (
    ml.every(([k, v]) => labels[k] === v) &&
    me.every(({ key, operator, values = [] }) => {
      switch (operator) {
        case 'In':
          return key in labels && values.includes(labels[key]!);
        case 'NotIn':
          return !(key in labels) || !values.includes(labels[key]!);
        case 'Exists':
          return key in labels;
        case 'DoesNotExist':
          return !(key in labels);
        default:
          return false;
      }
    })
  );
}

/** Long-running containers have readiness and liveness probes (Jobs run to completion). */
export const probesRule: Rule = (objects) =>
  eachContainer(objects)
    .filter(({ owner, spec, c }) => longRunning.has(owner.kind) && spec.containers.includes(c))
    .flatMap(({ owner, c }) => [
      ...(c.readinessProbe ? [] : [`${idOf(owner)} container ${c.name}: no readinessProbe`]),
      ...(c.livenessProbe ? [] : [`${idOf(owner)} container ${c.name}: no livenessProbe`]),
    ]);

/** Every container requests and limits CPU and memory. */
export const resourcesRule: Rule = (objects) =>
  eachContainer(objects).flatMap(({ owner, c }) =>
    (['requests', 'limits'] as const).flatMap((kind) =>
      ['cpu', 'memory']
        .filter((r) => c.resources?.[kind]?.[r] === undefined)
        .map((r) => `${idOf(owner)} container ${c.name}: no ${kind}.${r}`),
    ),
  );

/** Every container runs as non-root (its own securityContext or the pod's) and never as uid 0. */
export const nonRootRule: Rule = (objects) =>
  eachContainer(objects).flatMap(({ owner, spec, c }) => {
    const nonRoot = c.securityContext?.runAsNonRoot ?? spec.securityContext?.runAsNonRoot;
    const uid = c.securityContext?.runAsUser ?? spec.securityContext?.runAsUser;
    return [
      ...(nonRoot === true ? [] : [`${idOf(owner)} container ${c.name}: runAsNonRoot is not true`]),
      ...(uid === 0 ? [`${idOf(owner)} container ${c.name}: runAsUser is 0`] : []),
    ];
  });

/** No container may escalate privileges or keep Linux capabilities. */
export const hardeningRule: Rule = (objects) =>
  eachContainer(objects).flatMap(({ owner, c }) => [
    ...(c.securityContext?.allowPrivilegeEscalation === false
      ? []
      : [`${idOf(owner)} container ${c.name}: allowPrivilegeEscalation is not false`]),
    ...(c.securityContext?.capabilities?.drop?.includes('ALL')
      ? []
      : [`${idOf(owner)} container ${c.name}: capabilities do not drop ALL`]),
  ]);

/** Intake's own services (edge, worker) also run on a read-only root filesystem. */
export const readOnlyRootRule: Rule = (objects) =>
  eachContainer(objects)
    .filter(({ owner }) => ['edge', 'worker'].includes(component(owner) ?? ''))
    .filter(({ c }) => c.securityContext?.readOnlyRootFilesystem !== true)
    .map(({ owner, c }) => `${idOf(owner)} container ${c.name}: root filesystem is writable`);

/** Images name a tag (or digest) and the tag is not `latest`. */
export const imageTagRule: Rule = (objects) =>
  eachContainer(objects).flatMap(({ owner, c }) => {
    const image = c.image ?? '';
    if (image === '') return [`${idOf(owner)} container ${c.name}: no image`];
    if (image.includes('@sha256:')) return [];
    const lastPart = image.slice(image.lastIndexOf('/') + 1);
    const tag = lastPart.includes(':') ? lastPart.slice(lastPart.indexOf(':') + 1) : '';
    if (tag === '') return [`${idOf(owner)} container ${c.name}: image ${image} has no tag`];
    if (tag === 'latest') return [`${idOf(owner)} container ${c.name}: image ${image} is latest`];
    return [];
  });

/** Every Deployment and StatefulSet has a PodDisruptionBudget selecting its pods. */
export const pdbRule: Rule = (objects) => {
  const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .filter((workload) => {
      const labels = podTemplate(workload)?.labels ?? {};
      return !pdbs.some(
        (pdb) =>
          pdb.metadata.namespace === workload.metadata.namespace &&
          selectorMatches((pdb.spec as { selector?: LabelSelector }).selector ?? {}, labels),
      );
    })
    .map((workload) => `${idOf(workload)}: no PodDisruptionBudget selects its pods`);
};

/** Environment of a container as the pod would see it: envFrom ConfigMaps, then env values. */
export function containerEnv(c: Container, objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    const name = from.configMapRef?.name;
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
    Object.assign(env, (cm?.data as Record<string, string> | undefined) ?? {});
  }
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}

const component = (o: K8sObject): string | undefined =>
  o.metadata.labels?.['app.kubernetes.io/component'];
const graceSeconds = (spec: PodSpec): number => spec.terminationGracePeriodSeconds ?? 30;

/**
 * How long a worker may take to stop (services/worker/main.ts): the running chunk's sends
 * wait up to INTAKE_PRODUCER_ACK_TIMEOUT_MS, then the outbound log drains for up to
 * `shutdownDeliveryWaitMs`; the process force-exits after `shutdownDefaults.forceAfterMs`.
 */
export function workerDrainMs(env: Record<string, string>): number {
  const ack = Number(env.INTAKE_PRODUCER_ACK_TIMEOUT_MS ?? workerDefaults.ackTimeoutMs);
  return Math.max(shutdownDefaults.forceAfterMs, ack + workerDefaults.shutdownDeliveryWaitMs);
}

/** The worker's terminationGracePeriodSeconds exceeds its drain time. */
export const workerGraceRule: Rule = (objects) => {
  const workers = objects.filter((o) => o.kind === 'StatefulSet' && component(o) === 'worker');
  if (workers.length === 0) return ['no worker StatefulSet (app.kubernetes.io/component: worker)'];
  return workers.flatMap((w) => {
    const spec = podTemplate(w)!.spec;
    const c = spec.containers.find((x) => x.name === 'worker') ?? spec.containers[0]!;
    const drainMs = workerDrainMs(containerEnv(c, objects));
    return graceSeconds(spec) * 1000 > drainMs
      ? []
      : [
          `${idOf(w)}: terminationGracePeriodSeconds ${graceSeconds(spec)} s <= drain ${drainMs} ms`,
        ];
  });
};

/**
 * The edge's grace period covers preStop + its bounded shutdown (which includes the drain
 * grace), and the drain grace fits inside that bound.
 */
export const edgeGraceRule: Rule = (objects) => {
  const edges = objects.filter((o) => o.kind === 'Deployment' && component(o) === 'edge');
  if (edges.length === 0) return ['no edge Deployment (app.kubernetes.io/component: edge)'];
  return edges.flatMap((d) => {
    const spec = podTemplate(d)!.spec;
    const c = spec.containers.find((x) => x.name === 'edge') ?? spec.containers[0]!;
    const preStop = c.lifecycle?.preStop?.sleep?.seconds;
    if (preStop === undefined) return [`${idOf(d)}: no preStop sleep`];
    const env = containerEnv(c, objects);
    const drainMs = Number(env.INTAKE_DRAIN_GRACE_MS ?? edgeDefaults.drainGraceMs);
    const needMs = preStop * 1000 + shutdownDefaults.forceAfterMs;
    return [
      ...(graceSeconds(spec) * 1000 > needMs
        ? []
        : [`${idOf(d)}: terminationGracePeriodSeconds ${graceSeconds(spec)} s <= ${needMs} ms`]),
      ...(drainMs < shutdownDefaults.forceAfterMs
        ? []
        : [`${idOf(d)}: INTAKE_DRAIN_GRACE_MS ${drainMs} is not below the shutdown bound`]),
    ];
  });
};

/** Namespaced objects all land in one namespace (cluster-scoped: Namespace only here). */
export const namespaceRule: Rule = (objects) =>
  objects
    .filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'intake')
    .map((o) => `${idOf(o)}: namespace is ${o.metadata.namespace ?? 'unset'}, not intake`);

/**
 * ConfigMaps and Secrets that containers reference exist in the overlay, except the
 * Secrets listed as provided by the operator (`external`).
 */
export function referencesRule(external: string[] = []): Rule {
  return (objects) => {
    const has = (kind: string, name: string): boolean =>
      objects.some((o) => o.kind === kind && o.metadata.name === name);
    return eachContainer(objects).flatMap(({ owner, c }) => {
      const refs: [string, string][] = [
        ...(c.envFrom ?? []).flatMap((f): [string, string][] => [
          ...(f.configMapRef ? [['ConfigMap', f.configMapRef.name] as [string, string]] : []),
          ...(f.secretRef ? [['Secret', f.secretRef.name] as [string, string]] : []),
        ]),
        ...(c.env ?? []).flatMap((e): [string, string][] =>
          e.valueFrom?.secretKeyRef ? [['Secret', e.valueFrom.secretKeyRef.name]] : [],
        ),
      ];
      return refs
        .filter(
          ([kind, name]) => !has(kind, name) && !(kind === 'Secret' && external.includes(name)),
        )
        .map(([kind, name]) => `${idOf(owner)} container ${c.name}: ${kind} ${name} is missing`);
    });
  };
}

/** Autoscalers (HPA, KEDA ScaledObject) point at a workload of the overlay. */
export const scaleTargetRule: Rule = (objects) =>
  objects
    .filter((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject')
    .flatMap((a) => {
      const ref = (a.spec as { scaleTargetRef?: { kind?: string; name: string } }).scaleTargetRef;
      const kind = ref?.kind ?? 'Deployment';
      const found = objects.some((o) => o.kind === kind && o.metadata.name === ref?.name);
      return found ? [] : [`${idOf(a)}: scale target ${kind}/${ref?.name ?? '?'} is missing`];
    });

/** One autoscaler per workload: KEDA's HPA and a fallback HPA must not fight. */
export const singleAutoscalerRule: Rule = (objects) => {
  const targets = objects
    .filter((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject')
    .map((a) => {
      const ref = (a.spec as { scaleTargetRef?: { kind?: string; name: string } }).scaleTargetRef;
      return `${ref?.kind ?? 'Deployment'}/${ref?.name ?? '?'}`;
    });
  return [...new Set(targets.filter((t, i) => targets.indexOf(t) !== i))].map(
    (t) => `${t} has more than one autoscaler`,
  );
};

/** The rules every overlay must pass, by name (for test titles). */
export function allRules(externalSecrets: string[]): Record<string, Rule> {
  return {
    'long-running containers have readiness and liveness probes': probesRule,
    'every container has resource requests and limits': resourcesRule,
    'every container runs as non-root': nonRootRule,
    'no privilege escalation, all capabilities dropped': hardeningRule,
    'edge and worker run on a read-only root filesystem': readOnlyRootRule,
    'every image has a tag that is not latest': imageTagRule,
    'every Deployment and StatefulSet has a matching PDB': pdbRule,
    "the worker's grace period exceeds its drain time": workerGraceRule,
    "the edge's grace period covers preStop and its drain": edgeGraceRule,
    'everything lands in namespace intake': namespaceRule,
    'referenced ConfigMaps and Secrets exist': referencesRule(externalSecrets),
    'autoscalers target workloads of the overlay': scaleTargetRule,
    'one autoscaler per workload': singleAutoscalerRule,
  };
}
