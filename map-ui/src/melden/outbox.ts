// The outbox sender: sends waiting items in the order they were made, each
// item's steps in order (a report before its photos), exactly once through
// the server's idempotency on the ids the phone made. Transient failures
// (no network, 5xx, 408, 429) back off exponentially with jitter, honouring
// Retry-After, and hold the whole queue; a 4xx that can never succeed marks
// the item stuck ("vastgelopen") with the server's reason and the rest goes
// on. Runs in the page and in the service worker (Background Sync); a Web
// Lock keeps two of them from sending at once.
import * as store from './store';
import type { Item, Session } from './store';

export const BASE_DELAY_MS = 2_000;
export const MAX_DELAY_MS = 5 * 60_000;

/** The wait before attempt `attempts + 1`: full jitter over an exponential ceiling. */
export function backoff(attempts: number, random = Math.random): number {
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempts, 16));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Retry-After as seconds or an HTTP date, in ms from now; null when absent or unreadable. */
export function retryAfter(header: string | null, now = Date.now()): number | null {
  if (!header) return null;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return Math.min(s * 1000, 3_600_000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.min(at - now, 3_600_000));
}

export type Outcome =
  | { kind: 'ok' }
  | { kind: 'retry'; after: number | null; server: boolean }
  | { kind: 'stuck'; reason: string }
  | { kind: 'signed_out' };

/** What a response means for the outbox. A 400 about `Content-Digest` means
 * the photo was damaged on the way: it is sent again. */
export function classify(status: number, retryAfterHeader: string | null, reason: string, field: string | null = null): Outcome {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  if (status === 401) return { kind: 'signed_out' };
  if (status === 400 && field === 'Content-Digest') return { kind: 'retry', after: null, server: false };
  if (status === 408 || status === 429 || status >= 500) return { kind: 'retry', after: retryAfter(retryAfterHeader), server: true };
  return { kind: 'stuck', reason };
}

/** The headers of every request of the app: the device token, or the web
 * session's CSRF header on a state-changing request; JSON answers in `lang`. */
export function headers(session: Session | null, lang: string, method: string, json: boolean): Record<string, string> {
  const h: Record<string, string> = { Accept: 'application/json', 'Accept-Language': lang };
  if (session?.token) h.Authorization = `Bearer ${session.token}`;
  if (method !== 'GET') h['X-KVO-CSRF'] = '1';
  if (json) h['Content-Type'] = 'application/json';
  return h;
}

async function problemOf(res: Response): Promise<{ reason: string; field: string | null }> {
  try {
    const p = await res.json();
    return { reason: String(p.detail ?? p.title ?? `HTTP ${res.status}`), field: typeof p.field === 'string' ? p.field : null };
  } catch {
    return { reason: `HTTP ${res.status}`, field: null };
  }
}

/** `Content-Digest` (RFC 9530) of a body; null where Web Crypto is not available (not a secure context). */
export async function contentDigest(body: Blob): Promise<string | null> {
  if (!globalThis.crypto?.subtle) return null;
  const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', await body.arrayBuffer()));
  return `sha-256=:${btoa(String.fromCharCode(...hash))}:`;
}

async function sendStep(item: Item, session: Session, lang: string): Promise<Outcome> {
  const step = item.steps[item.done];
  let body: BodyInit | undefined;
  if (step.photo) {
    const blob = await store.photo(step.photo);
    if (!blob) return { kind: 'ok' }; // deleted with the item meanwhile
    body = blob;
  } else if (step.json !== undefined) body = JSON.stringify(step.json);
  let res: Response;
  try {
    const h = headers(session, lang, step.method, step.json !== undefined);
    if (step.photo) {
      h['Content-Type'] = 'image/jpeg';
      const digest = await contentDigest(body as Blob);
      if (digest) h['Content-Digest'] = digest;
    }
    res = await fetch(`/api/v1${step.path}`, { method: step.method, headers: h, body, credentials: 'same-origin' });
  } catch {
    return { kind: 'retry', after: null, server: false }; // no network
  }
  const problem = res.ok ? { reason: '', field: null } : await problemOf(res);
  const outcome = classify(res.status, res.headers.get('Retry-After'), problem.reason, problem.field);
  if (res.ok) await res.body?.cancel();
  return outcome;
}

/** The sending order: urgent reports first (they depend on nothing), then
 * everything else in the order it was made (a patrol's start before its
 * points and findings). */
export function sendingOrder(items: Item[]): Item[] {
  return [...items.filter((i) => i.urgent), ...items.filter((i) => !i.urgent)];
}

export interface FlushResult { sent: number; stuck: number; waiting: number; signedOut: boolean; nextAt: number | null }

/** Sends what can be sent now. Safe to call any time, from anywhere. With
 * `connected` (the browser says the network is back: the `online` event,
 * Background Sync), items that waited for the network are due at once; a
 * wait the server asked for (Retry-After) still holds. */
export async function flush(lang = 'nl', { connected = false } = {}): Promise<FlushResult> {
  const run = async (): Promise<FlushResult> => {
    const session = await store.get<Session>('session');
    const result: FlushResult = { sent: 0, stuck: 0, waiting: 0, signedOut: false, nextAt: null };
    if (!session) return result;
    let held = false;
    for (const item of sendingOrder(await store.items())) {
      if (item.state === 'stuck') { result.stuck++; continue; }
      if (item.held) { result.waiting++; continue; } // the user is still deciding; the rest may go
      if (held || ((!connected || item.server_wait) && item.next_at > Date.now())) {
        held = true; // keep the order: nothing overtakes a waiting item
        result.waiting++;
        result.nextAt = Math.min(result.nextAt ?? Infinity, item.next_at);
        continue;
      }
      while (item.done < item.steps.length) {
        const o = await sendStep(item, session, lang);
        if (o.kind === 'ok') {
          item.done++;
          item.attempts = 0;
          await store.save(item);
          continue;
        }
        if (o.kind === 'signed_out') { result.signedOut = true; return result; }
        if (o.kind === 'stuck') {
          item.state = 'stuck';
          item.reason = o.reason;
          await store.save(item);
          result.stuck++;
        } else {
          item.attempts++;
          item.next_at = Date.now() + (o.after ?? backoff(item.attempts - 1));
          item.server_wait = o.server;
          await store.save(item);
          held = true;
          result.waiting++;
          result.nextAt = Math.min(result.nextAt ?? Infinity, item.next_at);
        }
        break;
      }
      if (item.done === item.steps.length && item.state === 'waiting') {
        await store.drop(item); // sent: the server has it, the phone forgets it
        result.sent++;
      }
    }
    return result;
  };
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return run();
  return locks.request('kvo-outbox', run);
}

/** The counts the app shows ("3 meldingen wachten op verbinding"). */
export async function counts(): Promise<{ waiting: number; stuck: number }> {
  const all = await store.items();
  return { waiting: all.filter((i) => i.state === 'waiting').length, stuck: all.filter((i) => i.state === 'stuck').length };
}
