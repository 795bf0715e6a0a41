/**
 * nginx from Debian as the fleet's load balancer: renders `infra/nginx/nginx.conf.tmpl`
 * with the edges of the plan, and runs nginx in the foreground of its own process group
 * (`daemon off`), so the fleet owns its pid.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { FleetPlan } from './plan';
import { spawnDetached } from './processes';

const CANDIDATES = ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'];

export function findNginx(): string {
  const found = CANDIDATES.find((p) => existsSync(p));
  if (found) return found;
  throw new Error(
    'nginx is not installed. Install it with `sudo apt-get install nginx-light` (Debian/Ubuntu), or run `npm run up` as root to have it installed.',
  );
}

export function renderNginxConfig(
  plan: FleetPlan,
  template: string,
  maxBodyBytes = 2 * 1024 * 1024,
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
    RATE_PER_IP: '20000',
    BURST_PER_IP: '40000',
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (match, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`nginx template has an unknown placeholder ${match}`);
    return value;
  });
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

export function writeNginxConfig(plan: FleetPlan): string {
  const dir = join(plan.stateDir, 'nginx');
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  ensureLocalCertificate(plan);
  const template = readFileSync(join(plan.root, 'infra', 'nginx', 'nginx.conf.tmpl'), 'utf8');
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, renderNginxConfig(plan, template));
  return file;
}

export function startNginx(plan: FleetPlan): { pid: number; log: string } {
  const nginx = findNginx();
  const conf = writeNginxConfig(plan);
  const errorLog = join(plan.logDir, 'nginx-error.log');
  // Check the rendered config first, so a bad one fails with nginx's own message.
  execFileSync(
    nginx,
    ['-t', '-q', '-e', errorLog, '-p', join(plan.stateDir, 'nginx'), '-c', conf],
    { stdio: 'pipe' },
  );
  const log = join(plan.logDir, 'nginx.log');
  const pid = spawnDetached({
    command: nginx,
    args: ['-e', errorLog, '-p', join(plan.stateDir, 'nginx'), '-c', conf, '-g', 'daemon off;'],
    env: {},
    log,
    cwd: plan.root,
  });
  return { pid, log };
}
