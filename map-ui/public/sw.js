// The map UI's service worker: shows Web Push messages as notifications and
// opens the incident on a click. Delivery is at least once (docs/push.md): a
// repeated message has the same id, and the same tag replaces rather than adds.
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let msg;
  try {
    msg = event.data ? event.data.json() : null;
  } catch {
    msg = null;
  }
  if (!msg || typeof msg.id !== 'string') return;
  event.waitUntil(
    self.registration.showNotification(String(msg.title || 'KVO meldingen'), {
      body: String(msg.body || ''),
      tag: msg.reason === 'status' ? `status-${msg.incident_id}` : msg.id,
      renotify: msg.reason === 'urgent',
      requireInteraction: msg.reason === 'urgent',
      data: { url: typeof msg.url === 'string' && msg.url.startsWith('/') ? msg.url : '/', id: msg.id },
      lang: 'nl',
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const url = new URL(event.notification.data?.url || '/', self.location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      for (const w of windows) if (w.url === url && 'focus' in w) return w.focus();
      return self.clients.openWindow(url);
    }),
  );
});

// The page tells which area this browser's subscription is for.
self.addEventListener('message', (event) => {
  if (event.data && typeof event.data.area === 'string') {
    event.waitUntil(caches.open('kvo-push').then((c) => c.put('/push-area', new Response(event.data.area))));
  }
});

// The browser renewed the subscription: tell the server (the session cookie
// and the CSRF header go along).
self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil(
    (async () => {
      const key = await fetch('/api/v1/push/key').then((r) => r.json());
      const sub = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key.public_key });
      const stored = await caches.open('kvo-push').then((c) => c.match('/push-area'));
      const area = stored ? await stored.text() : null;
      if (area) {
        await fetch('/api/v1/push/subscriptions', {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json', 'X-KVO-CSRF': '1' },
          body: JSON.stringify({ area_id: area, ...sub.toJSON() }),
        });
      }
    })(),
  );
});
