/**
 * The queue in IndexedDB: one record per event, keyed by its id (a UUIDv7, so the store
 * returns them in the order they were tracked). Each `put` and `remove` is one
 * transaction; an event is durable in the page's storage once its `put` completed.
 */
import type { EventStore, TrackedEvent } from './queue';

const STORE = 'queue';

const done = <T>(request: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });

const committed = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
  });

export async function openIndexedDbStore(name = 'intake'): Promise<EventStore> {
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE, { keyPath: 'id' });
  const db = await done(open);
  const write = (apply: (store: IDBObjectStore) => void): Promise<void> => {
    const tx = db.transaction(STORE, 'readwrite');
    apply(tx.objectStore(STORE));
    return committed(tx);
  };
  return {
    load: () =>
      done(db.transaction(STORE).objectStore(STORE).getAll() as IDBRequest<TrackedEvent[]>),
    put: (events) => write((s) => events.forEach((e) => s.put(e))),
    remove: (ids) => write((s) => ids.forEach((id) => s.delete(id))),
  };
}
