import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { renderNginxConfig } from '../../../services/cli/fleet/nginx';
import { makePlan } from '../../../services/cli/fleet/plan';

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
    expect(conf).toContain('listen 127.0.0.1:18080;');
    expect(conf).toMatch(/keepalive \d+;/);
    expect(conf).toContain('proxy_http_version 1.1;');
    expect(conf).toMatch(/client_max_body_size \d+;/);
    expect(conf).toContain('escape=json');
    expect(conf).not.toMatch(/\{\{/);
  });

  it('refuses a template with an unknown placeholder', () => {
    const plan = makePlan(root, {}, {});
    expect(() => renderNginxConfig(plan, 'listen {{NOPE}};')).toThrow(/unknown placeholder/);
  });
});
