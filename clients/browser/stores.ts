/**
 * Event stores without browser types: one JSON array under one key of a string
 * key-value storage (localStorage, where IndexedDB is not available), and memory (where
 * neither is: private modes, storage disabled). Both keep the queue's order.
 */
import type { EventStore, TrackedEvent } from './queue';

/** The part of `Storage` (localStorage) the store uses. */
export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export class KeyValueStore implements EventStore {
  constructor(
    private readonly storage: KeyValue,
    private readonly key = 'intake.queue',
  ) {}

  load(): Promise<TrackedEvent[]> {
    return Promise.resolve(this.read());
  }

  put(events: TrackedEvent[]): Promise<void> {
    const stored = this.read();
    const ids = new Set(stored.map((e) => e.id));
    this.write([...stored, ...events.filter((e) => !ids.has(e.id))]);
    return Promise.resolve();
  }

  remove(ids: string[]): Promise<void> {
    const gone = new Set(ids);
    this.write(this.read().filter((e) => !gone.has(e.id)));
    return Promise.resolve();
  }

  private read(): TrackedEvent[] {
    try {
      const value: unknown = JSON.parse(this.storage.getItem(this.key) ?? '[]');
      return Array.isArray(value) ? (value as TrackedEvent[]) : [];
    } catch {
      return []; // unreadable (written by something else): start over
    }
  }

  private write(events: TrackedEvent[]): void {
    this.storage.setItem(this.key, JSON.stringify(events));
  }
}

export class MemoryStore implements EventStore {
  private events: TrackedEvent[] = [];

  load(): Promise<TrackedEvent[]> {
    return Promise.resolve([...this.events]);
  }

  put(events: TrackedEvent[]): Promise<void> {
    this.events.push(...events);
    return Promise.resolve();
  }

  remove(ids: string[]): Promise<void> {
    const gone = new Set(ids);
    this.events = this.events.filter((e) => !gone.has(e.id));
    return Promise.resolve();
  }
}
