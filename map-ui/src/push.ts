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

export async function enableNotifications(areaId: string) {
  if (!('serviceWorker' in navigator) || !('PushManager' in window)) { alert('Deze browser kan geen pushberichten ontvangen / this browser cannot receive push messages'); return; }
  if ((await Notification.requestPermission()) !== 'granted') return;
  const reg = await navigator.serviceWorker.ready;
  const { public_key } = await api<{ public_key: string }>('/push/key');
  const sub = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(public_key) });
  await api('/push/subscriptions', { method: 'POST', body: { area_id: areaId, ...sub.toJSON() } });
  reg.active?.postMessage({ area: areaId });
}
