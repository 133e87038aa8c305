// Web Push: the service worker (public/sw.js) and subscribing this browser.
import { api } from './api';

export function registerServiceWorker() {
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch((e) => console.warn('service worker', e));
}

function keyBytes(b64url: string): Uint8Array<ArrayBuffer> {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/');
  const raw = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

/** Subscribes this browser to Web Push with the server's key (fetched by
 * `publicKey`); null when the browser cannot or the user says no. Both apps use it. */
export async function subscribeThisBrowser(publicKey: () => Promise<string>): Promise<PushSubscriptionJSON | null> {
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) return null;
  if ((await Notification.requestPermission()) !== 'granted') return null;
  const reg = await navigator.serviceWorker.ready;
  const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(await publicKey()) });
  return sub.toJSON();
}

export async function enableNotifications(areaId: string) {
  const sub = await subscribeThisBrowser(async () => (await api<{ public_key: string }>('/push/key')).public_key);
  if (!sub) { alert('Geen pushberichten in deze browser / no push messages in this browser'); return; }
  await api('/push/subscriptions', { method: 'POST', body: { area_id: areaId, ...sub } });
  (await navigator.serviceWorker.ready).active?.postMessage({ area: areaId });
}
