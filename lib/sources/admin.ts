/**
 * The operations on sources the CLI and the admin API offer, on the sources as a
 * `SourceBook` holds them, written to the sources and forget topics (acks=all: each
 * resolves once its record is durable; every edge applies it within seconds).
 *
 * Each answers the record written, or a refusal with the HTTP status that says why
 * (404 no such source, 409 it exists already, 400 an invalid setting, naming the field).
 * Two operators changing one source at once: the last write wins (each is a whole record).
 */
import { isoTime } from '../clock';
import type { Producer } from '../kafka/port';
import { encodeForget, forgetKey } from '../records/forget';
import type { ForgetRecord } from '../records/forget';
import { encodeSource } from '../records/source';
import type { SourceRecord, SourceValidation } from '../records/source';
import type { SourceBook } from './book';
import { changeSource, createSource, setEnabled } from './changes';
import type { SourceChange } from './changes';
import { rotateKey } from './keys';
import { writeKeyed } from './write';

export type AdminResult<T> =
  ({ ok: true } & T) | { ok: false; status: 400 | 404 | 409; field?: string; reason: string };

export interface SourceAdminDeps {
  book: Pick<SourceBook, 'get' | 'list'>;
  producer: Producer;
  topics: { sources: string; forgets: string };
  now?: () => number;
}

export class SourceAdmin {
  private readonly now: () => number;

  constructor(private readonly deps: SourceAdminDeps) {
    this.now = deps.now ?? Date.now;
  }

  list(): SourceRecord[] {
    return this.deps.book.list();
  }

  /** A new source with a new key: the key is in the answer, and nowhere else. */
  async add(name: string): Promise<AdminResult<{ source: SourceRecord; key: string }>> {
    if (this.deps.book.get(name))
      return { ok: false, status: 409, reason: `source "${name}" exists already` };
    const { result, key } = createSource(name, this.now());
    const written = await this.write(result);
    return written.ok ? { ...written, key } : written;
  }

  async set(name: string, change: SourceChange): Promise<AdminResult<{ source: SourceRecord }>> {
    const source = this.deps.book.get(name);
    if (!source) return missing(name);
    return this.write(changeSource(source, change, this.now()));
  }

  /** A new key; the current ones work for `graceMs` more (0: they stop now). */
  async rotateKey(
    name: string,
    graceMs: number,
  ): Promise<AdminResult<{ source: SourceRecord; key: string }>> {
    const source = this.deps.book.get(name);
    if (!source) return missing(name);
    const rotated = rotateKey(source, this.now(), graceMs);
    const written = await this.write({ ok: true, source: rotated.source });
    return written.ok ? { ...written, key: rotated.key } : written;
  }

  async setEnabled(name: string, enabled: boolean): Promise<AdminResult<{ source: SourceRecord }>> {
    const source = this.deps.book.get(name);
    if (!source) return missing(name);
    return this.write({ ok: true, source: setEnabled(source, enabled, this.now()) });
  }

  /** Forgets an event key (visitor or user id) of a source: see lib/records/forget.ts. */
  async forget(name: string, key: string): Promise<AdminResult<{ forget: ForgetRecord }>> {
    if (!this.deps.book.get(name)) return missing(name);
    if (key === '' || key.length > 128)
      return { ok: false, status: 400, field: '/key', reason: 'must be 1 to 128 characters' };
    const forget = { source: name, key, at: isoTime(this.now()) };
    await writeKeyed(this.deps.producer, this.deps.topics.forgets, [
      { key: forgetKey(name, key), value: encodeForget(forget) },
    ]);
    return { ok: true, forget };
  }

  private async write(result: SourceValidation): Promise<AdminResult<{ source: SourceRecord }>> {
    if (!result.ok) return { ok: false, status: 400, field: result.field, reason: result.reason };
    await writeKeyed(this.deps.producer, this.deps.topics.sources, [
      { key: result.source.name, value: encodeSource(result.source) },
    ]);
    return { ok: true, source: result.source };
  }
}

const missing = (name: string): { ok: false; status: 404; reason: string } => ({
  ok: false,
  status: 404,
  reason: `no source "${name.slice(0, 64)}"`,
});

/** A source as the CLI and the admin API show it: without its `hashKey` (a secret). */
export function shownSource(source: SourceRecord): SourceRecord {
  const { hashKey: _secret, ...privacy } = source.privacy;
  return { ...source, privacy };
}
