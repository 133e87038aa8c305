// The map's service worker (/sw.js): Web Push, and renewing the subscription.
import { handlePush } from './push';

declare const self: ServiceWorkerGlobalScope;

self.addEventListener('install', () => void self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
handlePush((msg) => (typeof msg.url === 'string' && msg.url.startsWith('/') ? msg.url : '/'));

// The page tells which area this browser's subscription is for.
self.addEventListener('message', (event) => {
  if (event.data && typeof event.data.area === 'string') {
    event.waitUntil(caches.open('kvo-push').then((c) => c.put('/push-area', new Response(event.data.area))));
  }
});

// The browser renewed the subscription: tell the server (the session cookie
// and the CSRF header go along).
self.addEventListener('pushsubscriptionchange', (event) => {
  (event as ExtendableEvent).waitUntil((async () => {
    const key = await fetch('/api/v1/push/key').then((r) => r.json());
    const sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key.public_key });
    const stored = await caches.open('kvo-push').then((c) => c.match('/push-area'));
    const area = stored ? await stored.text() : null;
    if (area) {
      await fetch('/api/v1/push/subscriptions', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-KVO-CSRF': '1' },
        body: JSON.stringify({ area_id: area, ...sub.toJSON() }),
      });
    }
  })());
});
