/**
 * The project root (the folder with package.json), found from a module's location, so
 * files shipped beside the code (schemas, templates) resolve the same from `dist/` and from
 * the TypeScript sources under test.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function projectRoot(from = __dirname): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}
