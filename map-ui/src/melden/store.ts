// The device's memory of the reporting app, in IndexedDB: the session, the
// cached categories, the outbox and its photos, the patrol under way. Used by
// the page and by the service worker (Background Sync), so it imports no DOM.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Who this device is: a device token from an invite, or a web session (cookie). */
export interface Session {
  token: string | null;
  area_id: string;
  area_name: string;
  role: string;
  display_name?: string;
}

/** One step of an outbox item: a request, in order. */
export interface Step {
  method: 'POST' | 'PUT';
  path: string;
  json?: Json;
  /** A prepared photo, by its key in the `photos` store. */
  photo?: string;
}

export type ItemKind = 'report' | 'confirmation' | 'patrol_start' | 'patrol_points' | 'patrol_end';
export type ItemState = 'waiting' | 'stuck';

/** Something to send: its steps run in order; `done` counts those the server has. */
export interface Item {
  id: string;
  kind: ItemKind;
  seq: number;
  created_at: string;
  steps: Step[];
  done: number;
  state: ItemState;
  attempts: number;
  /** Not before this time (ms since epoch): the backoff. */
  next_at: number;
  /** The wait was asked by the server (429, 503, Retry-After), not caused by a
   * missing network: a returning connection does not cut it short. */
  server_wait?: boolean;
  /** The server's reason, in the user's language, when stuck. */
  reason?: string;
  /** What the user saw, to list it ("Kapotte verlichting, 14:02"). */
  title: string;
  /** The form as filled in, so a stuck report can be fixed. */
  draft?: Json;
  /** An urgent report (overval, agressie): sent before everything that does not depend on order. */
  urgent?: boolean;
  /** Waiting for the user's answer to "al gemeld in de buurt": not sent until released. */
  held?: boolean;
}

const DB = 'kvo-melden';
const VERSION = 1;

let opened: Promise<IDBDatabase> | null = null;

function db(): Promise<IDBDatabase> {
  opened ??= new Promise((ok, fail) => {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = () => {
      const d = req.result;
      d.createObjectStore('kv');
      d.createObjectStore('outbox', { keyPath: 'id' }).createIndex('seq', 'seq');
      d.createObjectStore('photos');
    };
    req.onsuccess = () => ok(req.result);
    req.onerror = () => fail(req.error);
  });
  return opened;
}

function done<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((ok, fail) => { req.onsuccess = () => ok(req.result); req.onerror = () => fail(req.error); });
}

async function tx<T>(stores: string[], mode: IDBTransactionMode, work: (t: IDBTransaction) => Promise<T> | T): Promise<T> {
  const t = (await db()).transaction(stores, mode, { durability: 'strict' });
  const committed = new Promise<void>((ok, fail) => { t.oncomplete = () => ok(); t.onerror = () => fail(t.error); t.onabort = () => fail(t.error); });
  const out = await work(t);
  await committed;
  return out;
}

export async function get<T>(key: string): Promise<T | undefined> {
  return tx(['kv'], 'readonly', (t) => done(t.objectStore('kv').get(key)) as Promise<T | undefined>);
}

export async function put(key: string, value: unknown): Promise<void> {
  await tx(['kv'], 'readwrite', (t) => { t.objectStore('kv').put(value, key); });
}

export async function remove(key: string): Promise<void> {
  await tx(['kv'], 'readwrite', (t) => { t.objectStore('kv').delete(key); });
}

/** Stores an item and its photos in one transaction: durable before anything is sent. */
export async function enqueue(item: Omit<Item, 'seq'>, photos: [string, Blob][] = []): Promise<Item> {
  return tx(['outbox', 'photos', 'kv'], 'readwrite', async (t) => {
    const kv = t.objectStore('kv');
    const seq = ((await done(kv.get('seq'))) as number | undefined ?? 0) + 1;
    kv.put(seq, 'seq');
    const full = { ...item, seq };
    t.objectStore('outbox').put(full);
    for (const [key, blob] of photos) t.objectStore('photos').put(blob, key);
    return full;
  });
}

export async function items(): Promise<Item[]> {
  return tx(['outbox'], 'readonly', (t) => done(t.objectStore('outbox').index('seq').getAll()) as Promise<Item[]>);
}

export async function save(item: Item): Promise<void> {
  await tx(['outbox'], 'readwrite', (t) => { t.objectStore('outbox').put(item); });
}

/** Deletes an item with its photos. */
export async function drop(item: Item): Promise<void> {
  await tx(['outbox', 'photos'], 'readwrite', (t) => {
    t.objectStore('outbox').delete(item.id);
    for (const s of item.steps) if (s.photo) t.objectStore('photos').delete(s.photo);
  });
}

export async function photo(key: string): Promise<Blob | undefined> {
  return tx(['photos'], 'readonly', (t) => done(t.objectStore('photos').get(key)) as Promise<Blob | undefined>);
}

/** Forgets everything: sign out. */
export async function clear(): Promise<void> {
  await tx(['kv', 'outbox', 'photos'], 'readwrite', (t) => {
    for (const s of ['kv', 'outbox', 'photos']) t.objectStore(s).clear();
  });
}
