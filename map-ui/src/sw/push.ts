// Web Push in a service worker, shared by the map's and the reporting app's:
// shows a message as a notification and opens a page on a click. Delivery is
// at least once (docs/push.md): a repeated message has the same id, and the
// same tag replaces rather than adds.
declare const self: ServiceWorkerGlobalScope;

export interface PushMessage { id: string; title?: string; body?: string; reason?: string; incident_id?: string; url?: string }

/** Installs the handlers; `urlFor` says which page a message opens. */
export function handlePush(urlFor: (msg: PushMessage) => string): void {
  self.addEventListener('push', (event) => {
    let msg: PushMessage | null;
    try { msg = event.data ? event.data.json() : null; } catch { msg = null; }
    if (!msg || typeof msg.id !== 'string') return;
    event.waitUntil(self.registration.showNotification(String(msg.title || 'KVO meldingen'), {
      body: String(msg.body || ''),
      tag: msg.reason === 'status' ? `status-${msg.incident_id}` : msg.id,
      requireInteraction: msg.reason === 'urgent',
      data: { url: urlFor(msg), id: msg.id },
      lang: 'nl',
    }));
  });
  self.addEventListener('notificationclick', (event) => {
    event.notification.close();
    const url = new URL(event.notification.data?.url || '/', self.location.origin).href;
    event.waitUntil(self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((windows) => {
      for (const w of windows) if (w.url === url && 'focus' in w) return w.focus();
      return self.clients.openWindow(url);
    }));
  });
}
