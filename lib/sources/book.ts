/**
 * The sources as the sources topic says now: every source's latest record, the key index
 * built from them (lib/sources/keys.ts) and each source's privacy policy, prepared once
 * per version of its record. Followed by every edge (a change applies within the
 * consumer's fetch wait, without a restart) and read to its end by the CLI.
 *
 * A record that does not parse, or whose name is not its key, is skipped: logged, counted
 * (`onSkipped`), and the source keeps its last good settings.
 */
import type { Logger } from '../logger';
import type { KafkaClient } from '../kafka/port';
import { parseSource } from '../records/source';
import type { SourceRecord } from '../records/source';
import { followTopic } from './follow';
import { KeyIndex, hashKey } from './keys';
import { Privacy } from './privacy';

export interface SourceBookDeps {
  kafka: KafkaClient;
  topic: string;
  logger: Logger;
  onSkipped?: (key: string) => void;
  /** Called after each change of a source (null: removed). */
  onChange?: (name: string, source: SourceRecord | null) => void;
}

export class SourceBook {
  private readonly records = new Map<string, SourceRecord>();
  private readonly privacies = new Map<string, { version: number; privacy: Privacy }>();
  private index: KeyIndex | null = null;
  private appIndex: KeyIndex | null = null;
  private originSet: ReadonlySet<string> | null = null;
  private readonly view;

  constructor(deps: SourceBookDeps) {
    this.view = followTopic<SourceRecord>({
      ...deps,
      parse: parseSource,
      apply: (name, source) => {
        if (source) this.records.set(name, source);
        else this.records.delete(name);
        this.index = null;
        this.appIndex = null;
        this.originSet = null;
        deps.onChange?.(name, source);
      },
    });
  }

  /** Starts following; `ready()` resolves once the topic was read to its end at start. */
  start(): Promise<void> {
    return this.view.start();
  }

  ready(): Promise<void> {
    return this.view.ready();
  }

  get isCaughtUp(): boolean {
    return this.view.isCaughtUp;
  }

  stop(): Promise<void> {
    return this.view.stop();
  }

  has(name: string): boolean {
    return this.records.has(name);
  }

  get(name: string): SourceRecord | undefined {
    return this.records.get(name);
  }

  list(): SourceRecord[] {
    return [...this.records.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every source's keys, rebuilt after a change on first use. */
  keys(): KeyIndex {
    return (this.index ??= new KeyIndex(this.records.values()));
  }

  /**
   * Every source's browser app ids (`appIds`, e.g. Snowplow's `aid`) as keys, with
   * `extra` (app ids configured outside the topic) after them: an app id is public, checked
   * like a key of its source (a disabled source refuses it; one listed by two sources
   * authenticates neither). Rebuilt after a change on first use.
   */
  appIds(extra: readonly SourceRecord[] = []): KeyIndex {
    return (this.appIndex ??= new KeyIndex(
      [...this.records.values(), ...extra].map((s) => ({
        ...s,
        keys: s.appIds.map((id) => ({ hash: hashKey(id) })),
      })),
    ));
  }

  /**
   * The browser origins enabled sources list (`origins`; `*` among them when one lists
   * it), for CORS. Rebuilt after a change on first use.
   */
  origins(): ReadonlySet<string> {
    return (this.originSet ??= new Set(
      [...this.records.values()].filter((s) => s.enabled).flatMap((s) => s.origins),
    ));
  }

  /** The source's privacy policy, or undefined for an unknown source. */
  privacy(name: string): Privacy | undefined {
    const source = this.records.get(name);
    if (!source) return undefined;
    const held = this.privacies.get(name);
    if (held?.version === source.version) return held.privacy;
    const privacy = new Privacy(source.privacy);
    this.privacies.set(name, { version: source.version, privacy });
    return privacy;
  }
}
