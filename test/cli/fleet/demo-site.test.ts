/**
 * The shop demo of the local fleet: its files are copied into the state directory with a
 * config.js that initialises the tracker with the fleet's key, and nginx serves that
 * directory at /demo/.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeDemoSite } from '../../../services/cli/fleet/demo-site';
import { renderNginxConfig } from '../../../services/cli/fleet/nginx';
import { makePlan } from '../../../services/cli/fleet/plan';

const root = resolve(__dirname, '..', '..', '..');

describe('shop demo site', () => {
  let state: string;
  beforeEach(() => {
    state = mkdtempSync(join(tmpdir(), 'intake-demo-'));
  });
  afterEach(() => rmSync(state, { recursive: true, force: true }));

  it('copies the demo beside a config.js holding the fleet key, and nginx serves it at /demo/', () => {
    const plan = makePlan(root, {}, { INTAKE_STATE_DIR: state });
    const dir = writeDemoSite(plan, 'key-"quoted"');
    expect(readdirSync(dir).sort()).toEqual(['config.js', 'index.html', 'shop.js']);
    expect(readFileSync(join(dir, 'config.js'), 'utf8')).toContain(
      'intake.init({ key: "key-\\"quoted\\"" });',
    );
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(html).toContain('<script src="/v1/intake.js"></script>');
    expect(html).toContain('<script src="config.js"></script>');
    const template = readFileSync(resolve(root, 'infra', 'nginx', 'nginx.conf.tmpl'), 'utf8');
    expect(renderNginxConfig(plan, template)).toContain(`location /demo/ {\n      alias ${dir}/;`);
  });
});
