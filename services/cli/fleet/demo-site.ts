/**
 * The shop demo of the local fleet (`examples/shop/`), served by nginx at `/demo/`: its
 * files are copied into `<state>/demo/` beside a `config.js` holding
 * `intake.init({ key })` with the fleet's key (a browser key is public by nature; the
 * local fleet has only the one). Written at every start, so an edited demo shows at once.
 */
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FleetPlan } from './plan';

export const demoDir = (plan: FleetPlan): string => join(plan.stateDir, 'demo');

export function writeDemoSite(plan: FleetPlan, apiKey: string): string {
  const source = join(plan.root, 'examples', 'shop');
  const target = demoDir(plan);
  mkdirSync(target, { recursive: true });
  for (const file of readdirSync(source)) copyFileSync(join(source, file), join(target, file));
  writeFileSync(
    join(target, 'config.js'),
    `// written by \`intake up\`: the local fleet's key\nintake.init({ key: ${JSON.stringify(apiKey)} });\n`,
  );
  return target;
}
