// The reporting app's service worker (/melden/sw.js, scope /melden/):
// - the app shell is cached at install, so the app opens with no network
//   (served from the cache, refreshed in the background);
// - Background Sync (Chromium) sends the outbox after the page is gone;
// - Web Push: a status change of my report opens it in "mijn meldingen".
import { handlePush } from '../sw/push';
import { flush } from './outbox';

declare const self: ServiceWorkerGlobalScope;
declare const __BUILD__: string;

const SHELL = `kvo-melden-shell-${__BUILD__}`;
const START = '/melden/';

/** The shell: the page, every asset it names, and the assets those name in
 * turn (the photo worker, the lazily loaded pin map), so that all of it works
 * offline from the first visit. Asset names carry a hash. */
async function shellUrls(): Promise<string[]> {
  const html = await (await fetch(START, { cache: 'reload' })).text();
  const found = new Set([...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]));
  for (const url of [...found]) await namedIn(url, found);
  return [START, '/melden/manifest.webmanifest', '/melden/icons/icon-192.png', '/melden/icons/icon-512.png', ...found];
}

async function namedIn(url: string, found: Set<string>): Promise<void> {
  if (!/\.m?js$/.test(url)) return;
  const text = await (await fetch(url)).text();
  for (const m of text.matchAll(/["'](?:\/assets\/|\.\/)([\w.-]+\.(?:m?js|css))["']/g)) {
    const next = `/assets/${m[1]}`;
    if (found.has(next) || m[1].includes('-dev.')) continue;
    found.add(next);
    await namedIn(next, found);
  }
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    await cache.addAll(await shellUrls());
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const k of await caches.keys()) if (k.startsWith('kvo-melden-shell-') && k !== SHELL) await caches.delete(k);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return;
  const shell = event.request.mode === 'navigate' && url.pathname.startsWith('/melden') ? START : null;
  if (!shell && !url.pathname.startsWith('/assets/') && !url.pathname.startsWith('/melden/')) return;
  event.respondWith((async () => {
    const cache = await caches.open(SHELL);
    const key = shell ?? event.request;
    const hit = await cache.match(key, { ignoreSearch: !!shell });
    const fresh = fetch(shell ?? event.request).then(async (res) => {
      if (res.ok) await cache.put(key, res.clone());
      return res;
    });
    if (hit) {
      event.waitUntil(fresh.catch(() => undefined)); // refreshed for next time
      return hit;
    }
    return fresh;
  })());
});

self.addEventListener('sync', (event) => {
  const e = event as ExtendableEvent & { tag: string };
  if (e.tag !== 'outbox') return;
  e.waitUntil((async () => {
    const r = await flush('nl', { connected: true });
    for (const c of await self.clients.matchAll({ type: 'window' })) c.postMessage({ type: 'outbox' });
    if (r.waiting) throw new Error('still waiting'); // the browser tries again later
  })());
});

handlePush((msg) => (msg.incident_id ? `/melden/#report=${msg.incident_id}` : START));
