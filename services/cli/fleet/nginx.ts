/**
 * nginx from Debian as the fleet's load balancer: renders `infra/nginx/nginx.conf.tmpl`
 * with the edges of the plan, and runs nginx in the foreground of its own process group
 * (`daemon off`), so the fleet owns its pid. UDP: nginx's stream module takes one-way
 * datagrams on 127.0.0.1:<HTTP port> (UDP, same number) and spreads them over the edges,
 * each listening for UDP on its own HTTP port's number (`infra/nginx/udp-stream.conf.tmpl`). `reloadNginx` applies a new edge list without
 * dropping a request: nginx checks the new config, starts new workers with it, and lets the
 * old ones finish what they serve (`nginx -s reload`).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import type { FleetPlan } from './plan';
import { demoDir } from './demo-site';
import { sleep } from '../../../lib/lifecycle';
import { childPids, spawnDetached } from './processes';
import { isAlive } from './state';

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'];

export function findNginx(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  throw new Error(
    'nginx is not installed. Install it with `sudo apt-get install nginx-light` (Debian/Ubuntu), or run `npm run up` as root to have it installed.',
  );
}

/**
 * How this nginx gets its stream module: `''` when built in, a `load_module` line when it
 * is a dynamic module that is installed; throws with the package to install otherwise.
 */
export function streamModuleLine(nginx = findNginx()): string {
  const v = spawnSync(nginx, ['-V'], { encoding: 'utf8' }); // nginx -V writes to stderr
  const info = `${v.stdout}${v.stderr}`;
  if (/--with-stream(\s|$)/.test(info)) return '';
  const found = STREAM_MODULES.find((p) => existsSync(p));
  if (found) return `load_module ${found};`;
  throw new Error(
    "nginx's stream module (one-way UDP) is missing: install it with `sudo apt-get install libnginx-mod-stream` (Debian/Ubuntu), or run `npm run up` as root to have it installed.",
  );
}

const STREAM_MODULES = [
  '/usr/lib/nginx/modules/ngx_stream_module.so',
  '/usr/share/nginx/modules/ngx_stream_module.so',
  '/usr/lib64/nginx/modules/ngx_stream_module.so',
];

/** The UDP part of nginx.conf: `udp-stream.conf.tmpl` with the plan's edges. */
export function renderUdpStream(plan: FleetPlan, template: string, loadModule: string): string {
  return fillTemplate(template, {
    LOAD_STREAM_MODULE: loadModule,
    UDP_LISTEN: `127.0.0.1:${plan.httpPort}`,
    UDP_SERVERS: plan.edges.map((e) => `    server 127.0.0.1:${e.port};`).join('\n'),
  });
}

function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx template has an unknown placeholder ${match}`);
    return value;
  });
}

export function renderNginxConfig(
  plan: FleetPlan,
  template: string,
  maxBodyBytes = 2 * 1024 * 1024,
  udpStream = '',
): string {
  const upstreams = plan.edges
    .map((e) => `    server 127.0.0.1:${e.port} max_fails=1 fail_timeout=2s;`)
    .join('\n');
  const values: Record<string, string> = {
    STATE_DIR: plan.stateDir,
    LISTEN: `127.0.0.1:${plan.httpPort}`,
    UPSTREAM_SERVERS: upstreams,
    MAX_BODY: String(maxBodyBytes),
    TLS_LISTEN: `127.0.0.1:${plan.tlsPort}`,
    TLS_CERT: join(plan.stateDir, 'nginx', 'tls', 'cert.pem'),
    TLS_KEY: join(plan.stateDir, 'nginx', 'tls', 'key.pem'),
    DEMO_DIR: demoDir(plan),
    RATE_PER_IP: '20000',
    BURST_PER_IP: '40000',
    UDP_STREAM: udpStream,
  };
  return fillTemplate(template, values);
}

/** A self-signed certificate for 127.0.0.1 and localhost, made once (openssl). */
export function ensureLocalCertificate(plan: FleetPlan): void {
  const dir = join(plan.stateDir, 'nginx', 'tls');
  if (existsSync(join(dir, 'cert.pem')) && existsSync(join(dir, 'key.pem'))) return;
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '825',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'pipe' },
    );
  } catch (err) {
    throw new Error(
      `could not make the local TLS certificate with openssl (apt-get install openssl): ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/**
 * Renders the plan's config and checks it with `nginx -t` before it replaces
 * `<state>/nginx/nginx.conf`, so a bad one fails with nginx's own message and never
 * reaches a running nginx.
 */
export function writeNginxConfig(plan: FleetPlan): string {
  const dir = join(plan.stateDir, 'nginx');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  ensureLocalCertificate(plan);
  const read = (name: string): string =>
    readFileSync(join(plan.root, 'infra', 'nginx', name), 'utf8');
  const udp = renderUdpStream(plan, read('udp-stream.conf.tmpl'), streamModuleLine());
  const file = join(dir, 'nginx.conf');
  const next = `${file}.next`;
  writeFileSync(next, renderNginxConfig(plan, read('nginx.conf.tmpl'), undefined, udp));
  execFileSync(findNginx(), ['-t', '-q', ...nginxArgs(plan, next)], { stdio: 'pipe' });
  renameSync(next, file);
  return file;
}

const nginxArgs = (plan: FleetPlan, conf: string): string[] => [
  '-e',
  join(plan.logDir, 'nginx-error.log'),
  '-p',
  join(plan.stateDir, 'nginx'),
  '-c',
  conf,
];

export function startNginx(plan: FleetPlan): { pid: number; log: string } {
  const conf = writeNginxConfig(plan);
  const log = join(plan.logDir, 'nginx.log');
  const pid = spawnDetached({
    command: findNginx(),
    args: [...nginxArgs(plan, conf), '-g', 'daemon off;'],
    env: {},
    log,
    cwd: plan.root,
  });
  return { pid, log };
}

/**
 * Applies the plan's edges to the running nginx (master `masterPid`): writes and checks the
 * config, `nginx -s reload`, and resolves once workers with the new config run and the old
 * ones have finished their requests (bounded by `oldWorkersMs`: a long-lived stream keeps
 * an old worker; it no longer takes new requests).
 */
export async function reloadNginx(
  plan: FleetPlan,
  masterPid: number,
  oldWorkersMs = 10_000,
): Promise<void> {
  if (!isAlive(masterPid)) throw new Error(`nginx (pid ${masterPid}) is not running`);
  const conf = writeNginxConfig(plan);
  const before = childPids(masterPid);
  execFileSync(findNginx(), [...nginxArgs(plan, conf), '-s', 'reload'], { stdio: 'pipe' });
  const deadline = Date.now() + 10_000;
  while (!childPids(masterPid).some((p) => !before.includes(p))) {
    if (Date.now() > deadline)
      throw new Error(
        `nginx started no workers with the new config in 10 s; see ${plan.logDir}/nginx-error.log`,
      );
    await sleep(50);
  }
  const oldGone = Date.now() + oldWorkersMs;
  while (before.some((p) => isAlive(p)) && Date.now() < oldGone) await sleep(50);
}
