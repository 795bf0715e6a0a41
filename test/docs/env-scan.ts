/**
 * Finds the `INTAKE_*` environment variables a source tree reads, from its text: the
 * names passed to the config reader (`r.int('INTAKE_X', ...)`, lib/config.ts), and
 * `env.INTAKE_X` / `env['INTAKE_X']` reads (not assignments) in TypeScript; `$INTAKE_X` /
 * `${INTAKE_X...}` in shell scripts.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const NAME = 'INTAKE_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_])';
const READER_CALL = new RegExp(
  `\\.(?:str|int|bool|list|listOf|oneOf|json)(?:<[^>]*>)?\\(\\s*'(${NAME})'`,
  'g',
);
const ENV_READ = new RegExp(`env(?:\\.(${NAME})|\\[\\s*'(${NAME})'\\s*\\])(?!\\s*=[^=])`, 'g');
const SHELL_READ = new RegExp(`\\$\\{?(${NAME})`, 'g');

/** Every file under `dir` whose name ends with one of `extensions`. */
export function filesUnder(dir: string, extensions: readonly string[]): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path, extensions));
    else if (extensions.some((ext) => entry.endsWith(ext))) out.push(path);
  }
  return out;
}

/** The variables one TypeScript source reads. */
export function tsReads(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of source.matchAll(READER_CALL)) names.add(m[1]!);
  for (const m of source.matchAll(ENV_READ)) names.add((m[1] ?? m[2])!);
  return names;
}

/** The variables one shell script (or template it expands) reads. */
export function shellReads(source: string): Set<string> {
  return new Set([...source.matchAll(SHELL_READ)].map((m) => m[1]!));
}

/** Every `INTAKE_*` name a Markdown document mentions. */
export function documented(markdown: string): Set<string> {
  return new Set(markdown.match(new RegExp(NAME, 'g')) ?? []);
}
