/**
 * The containers' HEALTHCHECK probe (infra/images/node-service.Dockerfile): readiness of
 * the service named by INTAKE_SERVICE, on the port its own variables give (edge `/readyz`,
 * worker and puller admin `/readyz`, the demo upstream's `/readyz`). Exits 0 when ready,
 * 1 otherwise. Plain Node: the images have no curl.
 */
const env = process.env;
const service = env.INTAKE_SERVICE ?? 'edge';
const urls: Record<string, string> = {
  edge: `http://127.0.0.1:${env.INTAKE_EDGE_PORT ?? '8081'}/readyz`,
  worker: `http://127.0.0.1:${env.INTAKE_WORKER_ADMIN_PORT ?? '9100'}/readyz`,
  puller: `http://127.0.0.1:${env.INTAKE_PULLER_ADMIN_PORT ?? '9150'}/readyz`,
  'demo-upstream': `http://127.0.0.1:${env.INTAKE_DEMO_UPSTREAM_PORT ?? '8140'}/readyz`,
};

function fail(why: string): never {
  process.stderr.write(`unhealthy: ${why}\n`);
  process.exit(1);
}

const url = urls[service];
if (url) {
  fetch(url, { signal: AbortSignal.timeout(2500) }).then(
    (res) => (res.ok ? process.exit(0) : fail(`${url} answered ${res.status}`)),
    (err: unknown) => fail(`${url}: ${String(err)}`),
  );
} else {
  fail(`no health check for INTAKE_SERVICE=${service}`);
}
