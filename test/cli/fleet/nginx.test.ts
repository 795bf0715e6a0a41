import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderNginxConfig, renderUdpStream } from '../../../services/cli/fleet/nginx';
import { makePlan } from '../../../services/cli/fleet/plan';
import { batchingDefaults } from '../../../lib/kafka/batching-producer';

const root = resolve(__dirname, '..', '..', '..');
const template = readFileSync(resolve(root, 'infra', 'nginx', 'nginx.conf.tmpl'), 'utf8');

describe('nginx config', () => {
  it('lists every edge of the plan in a keepalive upstream behind one listener', () => {
    const plan = makePlan(
      root,
      { edges: 3 },
      { INTAKE_HTTP_PORT: '18080', INTAKE_STATE_DIR: '/tmp/x' },
    );
    const conf = renderNginxConfig(plan, template);
    for (const port of [18081, 18082, 18083]) expect(conf).toContain(`server 127.0.0.1:${port}`);
    expect(conf).toContain('listen 127.0.0.1:18080 backlog=4096;');
    expect(conf).toMatch(/keepalive \d+;/);
    expect(conf).toContain('proxy_http_version 1.1;');
    expect(conf).toMatch(/client_max_body_size \d+;/);
    expect(conf).toContain('escape=json');
    expect(conf).not.toMatch(/\{\{/);
  });

  it('gives up on a hung edge before a client would, and resends its POSTs to the next edge', () => {
    const conf = renderNginxConfig(makePlan(root, {}, { INTAKE_STATE_DIR: '/tmp/x' }), template);
    const api = conf.slice(conf.indexOf('location / {'));
    const seconds = (name: string): number =>
      Number(new RegExp(`${name} (\\d+)s;`).exec(api)?.[1] ?? NaN);
    // The edge answers by its own Kafka ack timeout (10 s) first; nginx only times out a hung one.
    expect(seconds('proxy_read_timeout')).toBeGreaterThan(batchingDefaults.ackTimeoutMs / 1000);
    expect(seconds('proxy_read_timeout')).toBeLessThanOrEqual(20);
    expect(seconds('proxy_send_timeout')).toBeLessThanOrEqual(20);
    expect(api).toMatch(/proxy_next_upstream error timeout http_502 non_idempotent;/);
    expect(conf).toMatch(/server 127\.0\.0\.1:\d+ max_fails=1 fail_timeout=\d+s;/);
    // The docker-compose nginx behaves the same.
    const compose = readFileSync(resolve(root, 'infra', 'images', 'nginx.compose.conf'), 'utf8');
    const composeApi = compose.slice(compose.indexOf('location / {'));
    for (const line of ['proxy_read_timeout', 'proxy_send_timeout', 'proxy_next_upstream '])
      expect(composeApi).toContain(
        api
          .split('\n')
          .find((l) => l.includes(line))!
          .trim(),
      );
  });

  it('holds thousands of producers, and answers beyond its bound on requests in flight 503 with Retry-After', () => {
    const conf = renderNginxConfig(makePlan(root, {}, { INTAKE_STATE_DIR: '/tmp/x' }), template);
    const compose = readFileSync(resolve(root, 'infra', 'images', 'nginx.compose.conf'), 'utf8');
    for (const c of [conf, compose]) {
      const number = (directive: string): number =>
        Number(new RegExp(`^\\s*${directive} (\\d+);`, 'm').exec(c)?.[1] ?? NaN);
      const inFlight = [...c.matchAll(/limit_conn intake_\w+ (\d+);/g)].map((m) => Number(m[1]));
      const connections = number('worker_connections');
      expect(connections).toBeGreaterThanOrEqual(16384);
      expect(number('worker_rlimit_nofile')).toBeGreaterThan(connections);
      // Each request in flight holds a client and an upstream connection: the bound leaves
      // room for idle keep-alive clients, so nginx never closes one to make room.
      expect(inFlight).toHaveLength(2);
      // Over all clients: a constant key (nginx does not count a request whose key is empty).
      expect([...c.matchAll(/limit_conn_zone (\S+) /g)].map((m) => m[1])).toEqual(['all', 'all']);
      expect(2 * inFlight.reduce((a, b) => a + b, 0)).toBeLessThan(connections);
      expect(c).toContain('limit_conn_status 503;');
      const overloaded = c.slice(c.indexOf('location @overloaded {'));
      expect(c).toContain('error_page 503 = @overloaded;');
      expect(overloaded).toMatch(/add_header Retry-After \d+ always;/);
      expect(overloaded).toMatch(
        /return 503 '\{"type":"https:\/\/intake\.dev\/problems\/overloaded"/,
      );
      // No edge reachable: a 503 with Retry-After as well, not a bare 502.
      expect(c).toContain('error_page 502 = @no_edge;');
      expect(c.slice(c.indexOf('location @no_edge {'))).toMatch(
        /add_header Retry-After \d+ always;\s+return 503 /,
      );
    }
  });

  it('takes UDP on the HTTP port number and spreads it over every edge (round robin)', () => {
    const plan = makePlan(
      root,
      { edges: 3 },
      { INTAKE_HTTP_PORT: '18080', INTAKE_STATE_DIR: '/tmp/x' },
    );
    const udpTemplate = readFileSync(
      resolve(root, 'infra', 'nginx', 'udp-stream.conf.tmpl'),
      'utf8',
    );
    const udp = renderUdpStream(plan, udpTemplate, 'load_module /m/ngx_stream_module.so;');
    const conf = renderNginxConfig(plan, template, undefined, udp);
    const stream = conf.slice(conf.indexOf('stream {'), conf.indexOf('events {'));
    expect(conf.indexOf('load_module /m/ngx_stream_module.so;')).toBeLessThan(
      conf.indexOf('stream {'),
    );
    expect(stream).toContain('listen 127.0.0.1:18080 udp;');
    expect(stream).toContain('proxy_responses 0;');
    for (const port of [18081, 18082, 18083]) expect(stream).toContain(`server 127.0.0.1:${port};`);
    expect(stream).not.toMatch(/\bhash\b/);
    expect(conf).not.toMatch(/\{\{/);
  });

  it('refuses a template with an unknown placeholder', () => {
    const plan = makePlan(root, {}, {});
    expect(() => renderNginxConfig(plan, 'listen {{NOPE}};')).toThrow(/unknown placeholder/);
  });
});
