/**
 * What the fleet's workers warned about during a scenario (Intake's own modules; not the
 * kafkajs client's chatter, which repeats every retry), counted by module and message:
 * printed beside a result that found something lost, unprocessed or (HML) duplicated, so a
 * failing run on a clean clone, whose fleet directory is gone afterwards, still says where
 * to look.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const WARN = 40;
const SHOWN = 15;

export function workerWarnings(logDir: string, sinceMs: number): string {
  if (!existsSync(logDir)) return `(no logs in ${logDir})`;
  const counts = new Map<string, number>();
  for (const file of readdirSync(logDir).filter((f) => /^worker-\d+\.log$/.test(f))) {
    for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
      if (!line.startsWith('{')) continue;
      let entry: { level?: number; time?: string; module?: string; msg?: string };
      try {
        entry = JSON.parse(line) as typeof entry;
      } catch {
        continue;
      }
      if ((entry.level ?? 0) < WARN || Date.parse(entry.time ?? '') < sinceMs) continue;
      if (entry.module === 'kafkajs') continue;
      const key = `${file.replace('.log', '')} ${entry.module ?? '-'}: ${(entry.msg ?? '').slice(0, 100)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts]
    .sort(([, a], [, b]) => b - a)
    .slice(0, SHOWN)
    .map(([key, n]) => `  ${n} x ${key}`)
    .join('\n');
}
