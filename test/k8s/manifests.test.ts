/**
 * Kubernetes manifests (`k8s/`): every overlay renders with kustomize
 * (`infra/k8s/render.sh`), every rendered object validates against its schema (Kubernetes,
 * KEDA, prometheus-operator models; Strimzi CRDs from `test/k8s/crds/`, or fail), and the
 * project's policy rules hold (test/k8s/policy.ts). The last block feeds broken objects to
 * each rule and to the validator, so a check that can no longer fail is noticed.
 */
import { intakeTopics } from '../../lib/kafka/topics';
import { sourceTopics } from '../../lib/sources/topics';
import { kafkaDefaults } from '../../lib/config';
import { workerDefaults } from '../../services/worker/config';
import { idOf, overlayNames, parseObjects, renderYaml } from './render';
import type { K8sObject } from './render';
import { createSchemaValidator, loadCrdSchemas, strimziCrdDir, strimziGroup } from './schemas';
import {
  allRules,
  edgeGraceRule,
  hardeningRule,
  imageTagRule,
  namespaceRule,
  nonRootRule,
  pdbRule,
  podTemplate,
  probesRule,
  referencesRule,
  resourcesRule,
  selectorMatches,
  singleAutoscalerRule,
  workerGraceRule,
} from './policy';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-argument,
   @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return --
   rendered YAML is untyped data: these tests navigate it by path and mutate copies of it */

const overlays = overlayNames();
const rendered = new Map<string, K8sObject[]>();
const crds = loadCrdSchemas(strimziCrdDir()); // throws (the suite fails) when they are absent
const validator = createSchemaValidator(crds);
/** The API-key Secret is the operator's in every overlay but dev (docs/deployment.md). */
const externalSecrets = (overlay: string): string[] =>
  overlay === 'dev' ? [] : ['intake-api-keys'];

const objectsOf = (overlay: string): K8sObject[] => {
  const objects = rendered.get(overlay);
  if (!objects) throw new Error(`overlay ${overlay} was not rendered`);
  return objects;
};
const find = (objects: K8sObject[], kind: string, name: string): any => {
  const obj = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!obj) throw new Error(`${kind}/${name} not rendered`);
  return obj;
};
const clone = (objects: K8sObject[]): any[] => structuredClone(objects) as any[];

beforeAll(() => {
  // The first render may build the renderer (Go module proxy): allow minutes.
  for (const overlay of overlays) rendered.set(overlay, parseObjects(renderYaml(overlay)));
}, 600_000);

it('has the dev, prod and prod-hpa overlays', () => {
  expect(overlays).toEqual(expect.arrayContaining(['dev', 'prod', 'prod-hpa']));
});

it('reads the Strimzi CRDs for Kafka, KafkaNodePool and KafkaTopic', () => {
  const kinds = [...crds.validators.keys()];
  for (const kind of ['Kafka', 'KafkaNodePool', 'KafkaTopic']) {
    expect(kinds).toContain(`${strimziGroup}/v1|${kind}`);
  }
});

describe.each(overlays)('overlay %s', (overlay) => {
  it('renders objects', () => {
    expect(objectsOf(overlay).length).toBeGreaterThan(10);
  });

  it('every object validates against its schema (unknown kinds fail)', () => {
    const problems = objectsOf(overlay).flatMap((o) =>
      validator.validate(o).map((p) => `${idOf(o)}: ${p}`),
    );
    expect(problems).toEqual([]);
  });

  it.each(Object.entries(allRules(externalSecrets(overlay))))('%s', (_name, rule) => {
    expect(rule(objectsOf(overlay))).toEqual([]);
  });

  it("keeps the worker's outbound log on its PersistentVolumeClaim", () => {
    const sts = find(objectsOf(overlay), 'StatefulSet', 'intake-worker');
    const claims: string[] = sts.spec.volumeClaimTemplates.map((t: any) => t.metadata.name);
    const c = sts.spec.template.spec.containers[0];
    const dir = c.env.find((e: any) => e.name === 'INTAKE_OUTBOUND_LOG_DIR').value as string;
    const mount = c.volumeMounts.find((m: any) => dir.startsWith(`${m.mountPath as string}/`));
    expect(claims).toContain(mount?.name);
  });

  it("keeps the edge's view directory on a writable emptyDir", () => {
    const d = find(objectsOf(overlay), 'Deployment', 'intake-edge');
    const c = d.spec.template.spec.containers[0];
    const dir = c.env.find((e: any) => e.name === 'INTAKE_EDGE_VIEW_DIR').value as string;
    const mount = c.volumeMounts.find((m: any) => dir.startsWith(m.mountPath as string));
    const volume = d.spec.template.spec.volumes.find((v: any) => v.name === mount?.name);
    expect(volume?.emptyDir).toBeDefined();
  });

  it('routes only the API through ingress-nginx, with TLS from cert-manager', () => {
    const ing = find(objectsOf(overlay), 'Ingress', 'intake');
    expect(ing.spec.ingressClassName).toBe('nginx');
    expect(ing.spec.tls[0].secretName).toBeTruthy();
    const a = ing.metadata.annotations as Record<string, string>;
    expect(a['cert-manager.io/cluster-issuer']).toBeTruthy();
    for (const key of [
      'proxy-body-size',
      'proxy-read-timeout',
      'proxy-send-timeout',
      'proxy-buffering',
      'limit-rps',
    ]) {
      expect(a[`nginx.ingress.kubernetes.io/${key}`]).toBeTruthy();
    }
    expect(a['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('3600');
    expect(a['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
    const paths: string[] = ing.spec.rules.flatMap((r: any) =>
      r.http.paths.map((p: any) => p.path as string),
    );
    // the API, and Snowplow's collector paths (docs/api.md), which are not under /v1
    expect(paths.sort()).toEqual([
      '/com.snowplowanalytics.snowplow/tp2',
      '/i',
      '/openapi.json',
      '/v1',
    ]);
  });

  it('lets only the ingress controller (and Prometheus) reach the edges over TCP, and UDP from its own namespace', () => {
    const objects = objectsOf(overlay);
    const edgeLabels = podTemplate(find(objects, 'Deployment', 'intake-edge'))!.labels;
    const policies = objects.filter(
      (o: any) =>
        o.kind === 'NetworkPolicy' && selectorMatchesOrAll(o.spec.podSelector, edgeLabels),
    ) as any[];
    expect(policies.some((p) => p.metadata.name === 'default-deny-ingress')).toBe(true);
    const rules = policies.flatMap((p) => (p.spec.ingress ?? []) as any[]);
    const udpOnly = (rule: any): boolean =>
      (rule.ports ?? []).length > 0 && rule.ports.every((p: any) => p.protocol === 'UDP');
    const sources = rules
      .filter((rule) => !udpOnly(rule))
      .flatMap((rule: any) =>
        (rule.from ?? [{}]).map(
          (peer: any) => peer.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'],
        ),
      );
    expect(sources.length).toBeGreaterThan(0);
    for (const ns of sources) expect(['ingress-nginx', 'monitoring']).toContain(ns);
    const udpPeers = rules.filter(udpOnly).flatMap((rule: any) => rule.from ?? [{}]);
    expect(udpPeers.length).toBeGreaterThan(0);
    for (const peer of udpPeers) expect(peer).toEqual({ podSelector: {} }); // this namespace only
  });

  it('takes one-way UDP on a Service with a UDP port, at the port the edges listen on', () => {
    const objects = objectsOf(overlay);
    const service = find(objects, 'Service', 'intake-edge-udp');
    expect(service.spec.ports).toEqual([
      { name: 'udp', port: 8081, targetPort: 'udp', protocol: 'UDP' },
    ]);
    const edge = find(objects, 'Deployment', 'intake-edge').spec.template.spec.containers[0];
    const port = edge.ports.find((p: any) => p.name === 'udp');
    expect(port).toEqual({ name: 'udp', containerPort: 8081, protocol: 'UDP' });
    const env = Object.fromEntries(edge.env.map((e: any) => [e.name, e.value]));
    expect(env.INTAKE_UDP_PORT).toBe(String(port.containerPort));
    expect(env.INTAKE_UDP_HOST).toBe('0.0.0.0');
  });
});

/** An empty podSelector selects every pod of the namespace. */
function selectorMatchesOrAll(selector: any, labels: Record<string, string>): boolean {
  const empty =
    Object.keys(selector?.matchLabels ?? {}).length === 0 &&
    (selector?.matchExpressions ?? []).length === 0;
  return empty || selectorMatches(selector, labels);
}

describe('dev overlay', () => {
  it('runs a single-node KRaft broker from apache/kafka:4.1.1 behind intake-kafka-bootstrap', () => {
    const objects = objectsOf('dev');
    const kafka = find(objects, 'StatefulSet', 'intake-kafka');
    const c = kafka.spec.template.spec.containers[0];
    expect(c.image).toBe('apache/kafka:4.1.1');
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    expect(env.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(find(objects, 'Service', 'intake-kafka-bootstrap').spec.ports[0].port).toBe(9092);
    // The shared ConfigMap (hash-suffixed name) points every service at that Service.
    const config = objects.find((o) => o.metadata.name.startsWith('intake-config')) as any;
    expect(config.data.INTAKE_KAFKA_BROKERS).toBe('intake-kafka-bootstrap:9092');
  });

  it('creates every topic of lib/kafka/topics.ts and lib/sources/topics.ts in its topic-init Job', () => {
    const job = find(objectsOf('dev'), 'Job', 'intake-topic-init');
    const script = (job.spec.template.spec.containers[0].args as string[]).join('\n');
    for (const spec of [...intakeTopics(kafkaDefaults, 6, 1), ...sourceTopics(kafkaDefaults, 1)]) {
      const line = script
        .split('\n')
        .find((l) => `${l.trim()} `.startsWith(`create ${spec.topic} `));
      expect(line).toBeDefined();
      if (spec.numPartitions === 1) expect(line).toContain('--partitions 1');
      for (const { name, value } of spec.configEntries ?? []) {
        if (name === 'min.insync.replicas') continue; // set for all topics in create()
        expect(line).toContain(`--config ${name}=${value}`);
      }
    }
  });

  it('ships only a clearly fake API key', () => {
    const secret = find(objectsOf('dev'), 'Secret', 'intake-api-keys');
    const keys = Buffer.from(secret.data.INTAKE_API_KEYS as string, 'base64').toString();
    expect(keys).toMatch(/not-a-secret/);
  });

  it('has no custom resources, so it applies to a cluster without operators', () => {
    const custom = objectsOf('dev').filter((o) =>
      /strimzi|keda|monitoring\.coreos/.test(o.apiVersion),
    );
    expect(custom.map(idOf)).toEqual([]);
  });
});

describe.each(['prod', 'prod-hpa'])('overlay %s: Kafka through Strimzi', (overlay) => {
  it('declares a KRaft cluster with node pools, replication 3 and min.insync.replicas 2', () => {
    const objects = objectsOf(overlay);
    const kafka = find(objects, 'Kafka', 'intake');
    expect(kafka.metadata.annotations).toMatchObject({
      'strimzi.io/kraft': 'enabled',
      'strimzi.io/node-pools': 'enabled',
    });
    expect(kafka.spec.kafka.config).toMatchObject({
      'default.replication.factor': 3,
      'min.insync.replicas': 2,
      'unclean.leader.election.enable': false,
    });
    const pools = objects.filter((o) => o.kind === 'KafkaNodePool') as any[];
    for (const pool of pools) expect(pool.metadata.labels['strimzi.io/cluster']).toBe('intake');
    const replicas = (role: string): number =>
      pools
        .filter((p) => (p.spec.roles as string[]).includes(role))
        .reduce((n, p) => n + (p.spec.replicas as number), 0);
    expect(replicas('broker')).toBeGreaterThanOrEqual(3);
    expect(replicas('controller')).toBe(3);
  });

  it('has a KafkaTopic for every topic of lib/kafka/topics.ts and lib/sources/topics.ts, replicas 3, min ISR 2', () => {
    const topics = objectsOf(overlay).filter((o) => o.kind === 'KafkaTopic') as any[];
    const partitions = topics[0]?.spec.partitions as number;
    const expected = [
      ...intakeTopics(kafkaDefaults, partitions, 3),
      ...sourceTopics(kafkaDefaults, 3),
    ];
    expect(topics.map((t) => t.spec.topicName).sort()).toEqual(expected.map((t) => t.topic).sort());
    for (const spec of expected) {
      const topic = topics.find((t) => t.spec.topicName === spec.topic);
      expect(topic.metadata.labels['strimzi.io/cluster']).toBe('intake');
      expect(topic.spec).toMatchObject({ partitions: spec.numPartitions, replicas: 3 });
      expect(topic.spec.config['unclean.leader.election.enable']).toBe(false);
      for (const { name, value } of spec.configEntries ?? []) {
        expect(String(topic.spec.config[name])).toBe(value);
      }
    }
  });

  it('scales workers on the lag of intake.raw, never beyond its partitions', () => {
    const objects = objectsOf(overlay);
    const partitions = find(objects, 'KafkaTopic', kafkaDefaults.topics.raw).spec.partitions;
    const scaled = objects.find((o) => o.kind === 'ScaledObject') as any;
    const hpa = objects.find(
      (o: any) =>
        o.kind === 'HorizontalPodAutoscaler' && o.spec.scaleTargetRef.kind === 'StatefulSet',
    ) as any;
    if (overlay === 'prod') {
      expect(hpa).toBeUndefined();
      const trigger = scaled.spec.triggers[0];
      expect(trigger.type).toBe('kafka');
      expect(trigger.metadata).toMatchObject({
        topic: kafkaDefaults.topics.raw,
        consumerGroup: workerDefaults.groupId,
      });
      expect(trigger.metadata.bootstrapServers).toMatch(/^intake-kafka-bootstrap\b.*:9092$/);
      expect(scaled.spec.maxReplicaCount).toBeLessThanOrEqual(partitions);
    } else {
      expect(scaled).toBeUndefined();
      expect(hpa.spec.metrics[0].pods.metric.name).toBe('intake_worker_consumer_lag');
      expect(hpa.spec.maxReplicas).toBeLessThanOrEqual(partitions);
    }
  });

  it('scales edges on CPU and requests per second (custom metric)', () => {
    const hpa = find(objectsOf(overlay), 'HorizontalPodAutoscaler', 'intake-edge');
    const names = (hpa.spec.metrics as any[]).map((m) => m.resource?.name ?? m.pods?.metric.name);
    expect(names).toEqual(['cpu', 'intake_edge_requests_per_second']);
  });

  it('scrapes edges and workers with ServiceMonitors on named Service ports', () => {
    const objects = objectsOf(overlay);
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor') as any[];
    expect(monitors).toHaveLength(2);
    for (const m of monitors) {
      const service = objects.find(
        (o: any) =>
          o.kind === 'Service' && selectorMatches(m.spec.selector, o.metadata.labels ?? {}),
      ) as any;
      expect(service).toBeDefined();
      const ports = (service.spec.ports as any[]).map((p) => p.name as string);
      expect(ports).toContain(m.spec.endpoints[0].port);
    }
  });

  it('ships no Secret: the API keys are created by the operator', () => {
    expect(objectsOf(overlay).filter((o) => o.kind === 'Secret')).toEqual([]);
  });
});

describe('the checks can fail', () => {
  const dev = (): any[] => clone(objectsOf('dev'));
  const edgeOf = (objects: any[]): any => objects.find((o) => o.kind === 'Deployment');
  const workerOf = (objects: any[]): any =>
    objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'intake-worker');

  it('the validator rejects a wrongly typed field and an unknown kind', () => {
    const objects = dev();
    edgeOf(objects).spec.replicas = 'two';
    expect(validator.validate(edgeOf(objects)).join()).toMatch(/replicas/);
    const unknown = { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } };
    expect(validator.validate(unknown)).toEqual([
      'unknown kind example.com/v1 Widget: add a schema for it',
    ]);
  });

  it('the validator rejects a broken Strimzi object', () => {
    const topic: any = structuredClone(find(objectsOf('prod'), 'KafkaTopic', 'intake.raw'));
    topic.spec.partitions = 'many';
    topic.spec.replica = 3; // a typo: unknown field
    const problems = validator.validate(topic).join('\n');
    expect(problems).toMatch(/partitions/);
    expect(problems).toMatch(/replica/);
    const pool: any = structuredClone(objectsOf('prod').find((o) => o.kind === 'KafkaNodePool'));
    pool.spec.roles = ['zookeeper'];
    expect(validator.validate(pool)).not.toEqual([]);
  });

  it('probes: a container without a readiness probe', () => {
    const objects = dev();
    delete edgeOf(objects).spec.template.spec.containers[0].readinessProbe;
    expect(probesRule(objects)).toEqual([
      'Deployment/intake-edge container edge: no readinessProbe',
    ]);
  });

  it('resources: a container without limits', () => {
    const objects = dev();
    delete workerOf(objects).spec.template.spec.containers[0].resources.limits;
    expect(resourcesRule(objects)).toHaveLength(2);
  });

  it('non-root: runAsNonRoot false on a container, or uid 0', () => {
    const objects = dev();
    edgeOf(objects).spec.template.spec.containers[0].securityContext.runAsNonRoot = false;
    workerOf(objects).spec.template.spec.securityContext.runAsUser = 0;
    expect(nonRootRule(objects)).toEqual([
      'Deployment/intake-edge container edge: runAsNonRoot is not true',
      'StatefulSet/intake-worker container worker: runAsUser is 0',
    ]);
  });

  it('hardening: privilege escalation allowed', () => {
    const objects = dev();
    edgeOf(objects).spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation =
      true;
    expect(hardeningRule(objects)).toHaveLength(1);
  });

  it('image tags: latest, and no tag at all', () => {
    const objects = dev();
    edgeOf(objects).spec.template.spec.containers[0].image = 'intake/edge:latest';
    workerOf(objects).spec.template.spec.containers[0].image = 'registry:5000/intake/worker';
    expect(imageTagRule(objects)).toEqual([
      'Deployment/intake-edge container edge: image intake/edge:latest is latest',
      'StatefulSet/intake-worker container worker: image registry:5000/intake/worker has no tag',
    ]);
  });

  it('PDB: missing, or selecting other pods', () => {
    const withoutEdgePdb = dev().filter(
      (o) => !(o.kind === 'PodDisruptionBudget' && o.metadata.name === 'intake-edge'),
    );
    expect(pdbRule(withoutEdgePdb)).toEqual([
      'Deployment/intake-edge: no PodDisruptionBudget selects its pods',
    ]);
    const objects = dev();
    const pdb = objects.find(
      (o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === 'intake-worker',
    );
    pdb.spec.selector.matchLabels['app.kubernetes.io/component'] = 'wroker';
    expect(pdbRule(objects)).toEqual([
      'StatefulSet/intake-worker: no PodDisruptionBudget selects its pods',
    ]);
  });

  it('worker grace: shorter than the bounded shutdown, or than a longer ack timeout', () => {
    const objects = dev();
    workerOf(objects).spec.template.spec.terminationGracePeriodSeconds = 30;
    expect(workerGraceRule(objects)).toHaveLength(1);
    const slowAcks = dev();
    const c = workerOf(slowAcks).spec.template.spec.containers[0];
    c.env.find((e: any) => e.name === 'INTAKE_PRODUCER_ACK_TIMEOUT_MS').value = '120000';
    expect(workerGraceRule(slowAcks).join()).toMatch(/drain 130000 ms/);
  });

  it('edge grace: not covering preStop plus the bounded shutdown, or no preStop', () => {
    const objects = dev();
    edgeOf(objects).spec.template.spec.terminationGracePeriodSeconds = 30;
    expect(edgeGraceRule(objects)).toHaveLength(1);
    delete edgeOf(objects).spec.template.spec.containers[0].lifecycle;
    expect(edgeGraceRule(objects)).toEqual(['Deployment/intake-edge: no preStop sleep']);
  });

  it('namespace: an object without one', () => {
    const objects = dev();
    delete edgeOf(objects).metadata.namespace;
    expect(namespaceRule(objects)).toEqual([
      'Deployment/intake-edge: namespace is unset, not intake',
    ]);
  });

  it('references: a Secret that is neither rendered nor external', () => {
    const objects = dev().filter((o) => o.kind !== 'Secret');
    expect(referencesRule()(objects)).toEqual([
      'Deployment/intake-edge container edge: Secret intake-api-keys is missing',
    ]);
    expect(referencesRule(['intake-api-keys'])(objects)).toEqual([]);
  });

  it('autoscalers: KEDA and a fallback HPA on the same workload', () => {
    const objects = clone(objectsOf('prod'));
    const hpa = structuredClone(find(objectsOf('prod'), 'HorizontalPodAutoscaler', 'intake-edge'));
    hpa.metadata.name = 'intake-worker';
    hpa.spec.scaleTargetRef = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'intake-worker' };
    expect(singleAutoscalerRule([...objects, hpa])).toEqual([
      'StatefulSet/intake-worker has more than one autoscaler',
    ]);
  });

  it('selectors: matchLabels and matchExpressions', () => {
    const labels = { app: 'intake', tier: 'edge' };
    expect(selectorMatches({ matchLabels: { app: 'intake' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'other' } }, labels)).toBe(false);
    expect(
      selectorMatches(
        { matchExpressions: [{ key: 'tier', operator: 'In', values: ['edge'] }] },
        labels,
      ),
    ).toBe(true);
    expect(
      selectorMatches(
        { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['edge'] }] },
        labels,
      ),
    ).toBe(false);
    expect(selectorMatches({}, labels)).toBe(false);
  });
});
