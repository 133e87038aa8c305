// Web Push: the service worker (public/sw.js), subscribing this browser, and
// what a person wants to hear about (the preferences dialog of the map).
import { api, type CategoryInfo, type S } from './api';
import { el, replace } from './dom';
import { lang, translator } from './i18n';

type Preferences = S['PushPreferences'];

const p = translator({
  title: 'Pushberichten', enable: 'Aanzetten in deze browser', enabled: 'Deze browser ontvangt pushberichten.',
  unavailable: 'Geen pushberichten in deze browser.', newOf: 'Nieuwe meldingen van deze categorieën',
  urgent: 'Spoedmeldingen (overval, agressie, brandgevaar) terwijl ik dienst heb', onDuty: 'Ik heb nu dienst',
  own: 'Wijzigingen van mijn eigen meldingen', save: 'Opslaan', saved: 'Opgeslagen.', close: 'Sluiten',
  hint: 'Zonder keuze hieronder komt er alleen iets bij spoed terwijl u dienst heeft; de spoedcategorieën staan daarom alvast aangevinkt.',
}, {
  title: 'Push messages', enable: 'Turn on in this browser', enabled: 'This browser receives push messages.',
  unavailable: 'No push messages in this browser.', newOf: 'New reports of these categories',
  urgent: 'Urgent reports (robbery, aggression, fire hazard) while I am on duty', onDuty: 'I am on duty now',
  own: 'Changes to my own reports', save: 'Save', saved: 'Saved.', close: 'Close',
  hint: 'Without a choice below, only urgent reports while on duty arrive; the urgent categories are therefore ticked already.',
});

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

/** Subscribes this browser for `areaId`; false when it cannot. */
export async function enableNotifications(areaId: string): Promise<boolean> {
  const sub = await subscribeThisBrowser(async () => (await api<{ public_key: string }>('/push/key')).public_key);
  if (!sub) return false;
  await api('/push/subscriptions', { method: 'POST', body: { area_id: areaId, ...sub } });
  (await navigator.serviceWorker.ready).active?.postMessage({ area: areaId });
  return true;
}

/** The dialog: turn push on in this browser, and choose what arrives. When
 * nothing is chosen yet, the urgent categories are offered ticked, so that
 * turning push on delivers something. */
export async function openPushDialog(areaId: string, categories: CategoryInfo[]) {
  const prefs = await api<Preferences>(`/areas/${areaId}/push/preferences`);
  const suggest = prefs.new_categories.length === 0;
  const chosen = new Set(suggest ? categories.filter((c) => c.urgent).map((c) => c.code) : prefs.new_categories);
  const status = el('p', { class: 'push-status', role: 'status' });
  const boxes = categories.map((c) => el('input', { type: 'checkbox', value: c.code, checked: chosen.has(c.code), name: 'push-category' }));
  const urgent = el('input', { type: 'checkbox', id: 'push-urgent', checked: prefs.urgent });
  const onDuty = el('input', { type: 'checkbox', id: 'push-on-duty', checked: prefs.on_duty });
  const own = el('input', { type: 'checkbox', id: 'push-own', checked: prefs.own_status });
  const dialog = el('dialog', { class: 'push-dialog', 'aria-labelledby': 'push-title' });
  const save = async () => {
    const body: Preferences = { new_categories: boxes.filter((b) => b.checked).map((b) => b.value), urgent: urgent.checked, on_duty: onDuty.checked, own_status: own.checked };
    try {
      await api(`/areas/${areaId}/push/preferences`, { method: 'PUT', body });
      status.textContent = p('saved');
    } catch (e) { status.textContent = e instanceof Error ? e.message : String(e); }
  };
  replace(dialog,
    el('h2', { id: 'push-title' }, p('title')),
    el('button', { type: 'button', id: 'push-enable', onclick: async () => {
      status.textContent = (await enableNotifications(areaId).catch(() => false)) ? p('enabled') : p('unavailable');
    } }, p('enable')),
    suggest ? el('p', { class: 'hint' }, p('hint')) : null,
    el('fieldset', {}, el('legend', {}, p('newOf')),
      el('div', { class: 'push-categories' }, ...categories.map((c, i) => el('label', {}, boxes[i], ` ${lang === 'en' ? c.label_en : c.label_nl}`)))),
    el('label', { for: 'push-urgent' }, urgent, ` ${p('urgent')}`), el('br'),
    el('label', { for: 'push-on-duty' }, onDuty, ` ${p('onDuty')}`), el('br'),
    el('label', { for: 'push-own' }, own, ` ${p('own')}`),
    status,
    el('div', { class: 'actions' }, el('button', { type: 'button', id: 'push-save', onclick: save }, p('save')),
      el('form', { method: 'dialog' }, el('button', {}, p('close')))));
  document.body.append(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  dialog.showModal();
}
