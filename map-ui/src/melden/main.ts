// The reporting app (/melden/): join with an invite, report with photo and
// location, offline first. Everything the user makes is written to the device
// (IndexedDB) before any network is touched; the outbox sends it.
import './melden.css';
import type { CategoryInfo, Incident, IncidentPage, Me, UiConfig, Area, FollowUp, Question, Nearby, NearestAsset } from '../api';
import { el, replace, type Child } from '../dom';
import { lang, setLang, label, ASSET_KIND, STATUS, THEME, ORG, fmtDate } from '../i18n';
import { tr } from './texts';
import * as store from './store';
import type { Session, Item, Json } from './store';
import * as outbox from './outbox';
import { prepare, exifPosition } from './photos';
import { subscribeThisBrowser } from '../push';
import { myData } from './my-data';

type Fix = { lat: number; lon: number; accuracy: number | null; source: 'gps' | 'pin' | 'photo' };

const root = document.getElementById('app')!;
const status = el('p', { id: 'outbox-status', class: 'status', role: 'status' });
let session: Session | null = null;
let categories: CategoryInfo[] = [];
let flushTimer: number | undefined;

function setScreen(name: string) { document.body.dataset.screen = name; }

/** The API with this device's credential; throws the server's problem text. */
async function call<T>(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ status: number; data: T; etag: string | null }> {
  const method = init.method ?? 'GET';
  const h = { ...outbox.headers(session, lang, method, init.body !== undefined), ...init.headers };
  const signal = init.timeoutMs ? AbortSignal.timeout(init.timeoutMs) : undefined;
  const res = await fetch(`/api/v1${path}`, { method, headers: h, credentials: 'same-origin', signal, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  if (res.status === 304) return { status: 304, data: undefined as T, etag: res.headers.get('ETag') };
  if (!res.ok) {
    let detail = `HTTP ${res.status}`;
    try { const p = await res.json(); detail = p.detail ?? p.title ?? detail; } catch { /* not JSON */ }
    throw Object.assign(new Error(detail), { status: res.status });
  }
  return { status: res.status, data: res.status === 204 ? (undefined as T) : await res.json(), etag: res.headers.get('ETag') };
}

function uuid(): string { return crypto.randomUUID(); }

// ------------------------------------------------------------------ start

async function boot() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/melden/sw.js', { scope: '/melden/' }).catch((e) => console.warn('service worker', e));
    navigator.serviceWorker.addEventListener('message', (e) => { if (e.data?.type === 'outbox') void refreshStatus(); });
  }
  addEventListener('online', () => void send({ connected: true }));
  addEventListener('offline', () => void refreshStatus());
  const code = new URLSearchParams(location.hash.slice(1)).get('code');
  session = (await store.get<Session>('session')) ?? null;
  if (code && !session) return join(code);
  if (!session) {
    // A web session (signed in with a password) gets the same app.
    try {
      const me = (await call<Me>('/me')).data;
      if (me.memberships.length) session = await webSession(me);
    } catch { /* not signed in */ }
  }
  if (!session) return join(code ?? '');
  // A report held for "al gemeld in de buurt" when the app was closed goes as it was made.
  for (const item of await store.items()) if (item.held) await store.save({ ...item, held: false });
  // A notification about my report opens it (`#report=<id>`).
  if (new URLSearchParams(location.hash.slice(1)).get('report')) {
    categories = await loadCategories();
    await mine();
  } else await home();
  void send();
}

async function webSession(me: Me): Promise<Session> {
  const m = me.memberships[0];
  const s: Session = { token: null, area_id: m.area_id, area_name: m.area_name, role: m.role, display_name: me.display_name };
  await store.put('session', s);
  return s;
}

function header(...extra: Child[]): HTMLElement {
  return el('header', { class: 'bar' },
    el('h1', {}, tr('app')),
    session ? el('span', { class: 'area' }, session.area_name) : null,
    ...extra,
    el('button', { type: 'button', class: 'link', id: 'language', lang: lang === 'nl' ? 'en' : 'nl', onclick: () => {
      setLang(lang === 'nl' ? 'en' : 'nl');
      const u = new URL(location.href); u.searchParams.set('lang', lang); history.replaceState(null, '', u);
      if (session) void home(); else join((document.getElementById('code') as HTMLInputElement | null)?.value ?? '');
    } }, tr('language')));
}

// ------------------------------------------------------------------ joining

function join(code: string) {
  setScreen('join');
  const codeInput = el('input', { id: 'code', name: 'code', autocomplete: 'one-time-code', required: true, value: code, autocapitalize: 'characters' });
  const nameInput = el('input', { id: 'display-name', name: 'name', autocomplete: 'name' });
  const message = el('p', { class: 'error', role: 'alert' });
  const form = el('form', { class: 'card', 'aria-labelledby': 'join-title' },
    el('h2', { id: 'join-title' }, tr('join')),
    el('p', {}, tr('joinHelp')),
    el('label', { for: 'code' }, tr('code')), codeInput,
    el('label', { for: 'display-name' }, tr('name')), nameInput,
    el('button', { type: 'submit', class: 'primary' }, tr('joinButton')), message);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const s = (await call<{ token: string; area_id: string; area_name: string; role: string }>('/devices/redeem', {
        method: 'POST', body: { code: codeInput.value.trim(), display_name: nameInput.value.trim() || undefined, device_name: navigator.userAgent.slice(0, 100) },
      })).data;
      session = { token: s.token, area_id: s.area_id, area_name: s.area_name, role: s.role, display_name: nameInput.value.trim() || undefined };
      await store.put('session', session);
      history.replaceState(null, '', location.pathname + location.search); // the code is used up
      await home();
    } catch (e) {
      message.textContent = [400, 422].includes((e as { status?: number }).status ?? 0) ? tr('invalidCode') : String((e as Error).message);
    }
  });
  const email = el('input', { id: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = el('input', { id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const webMessage = el('p', { class: 'error', role: 'alert' });
  const web = el('form', { class: 'card', 'aria-labelledby': 'web-title' },
    el('h2', { id: 'web-title' }, tr('webSignIn')),
    el('label', { for: 'email' }, tr('email')), email,
    el('label', { for: 'password' }, tr('password')), password,
    el('button', { type: 'submit' }, tr('signIn')), webMessage);
  web.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await call('/session', { method: 'POST', body: { email: email.value, password: password.value } });
      session = await webSession((await call<Me>('/me')).data);
      await home();
    } catch (e) { webMessage.textContent = (e as Error).message; }
  });
  replace(root, header(), el('main', {}, form, web));
  (code ? nameInput : codeInput).focus();
}

/** Everything stored about me with my photos (a ZIP file). */
async function exportZip(): Promise<Blob> {
  const res = await fetch('/api/v1/me/export.zip', { headers: outbox.headers(session, lang, 'GET', false), credentials: 'same-origin' });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.blob();
}

/** This device was signed out by the server (everywhere, or the person removed): forget it here too. */
async function signedOut(message: string) {
  await store.clear();
  session = null;
  join('');
  root.querySelector('main')?.prepend(el('p', { class: 'message', role: 'status', id: 'signed-out' }, message));
}

async function signOut() {
  const { waiting, stuck } = await outbox.counts();
  if (waiting + stuck > 0 && !confirm(tr('signOutUnsent'))) return;
  try {
    if (session?.token) await call('/devices/current', { method: 'DELETE' });
    else await call('/session', { method: 'DELETE' });
  } catch { /* offline: the token is forgotten here all the same */ }
  await store.clear();
  session = null;
  join('');
}

// ------------------------------------------------------------------ home: the category grid

async function loadCategories(): Promise<CategoryInfo[]> {
  const key = `categories:${session!.area_id}`;
  const cached = await store.get<{ etag: string | null; list: CategoryInfo[] }>(key);
  try {
    const res = await call<{ categories: CategoryInfo[] }>(`/areas/${session!.area_id}/categories`, { headers: cached?.etag ? { 'If-None-Match': cached.etag } : {} });
    if (res.status === 304 && cached) return cached.list;
    await store.put(key, { etag: res.etag, list: res.data.categories });
    return res.data.categories;
  } catch (e) {
    if ((e as { status?: number }).status === 401) { await store.remove('session'); session = null; join(''); throw e; }
    if (cached) return cached.list; // offline: the last list
    throw e;
  }
}

function catLabel(c: CategoryInfo): string { return lang === 'en' ? c.label_en : c.label_nl; }

const THEME_ICON: Record<string, string> = {
  criminaliteit: '🛡️', overlast: '📢', brandveiligheid: '🔥', verkeersveiligheid: '🚦', milieu: '♻️', cybersecurity: '💻', ondermijning: '🔍',
};

async function home() {
  setScreen('loading');
  categories = await loadCategories();
  const urgent = categories.filter((c) => c.urgent);
  const groups = new Map<string, CategoryInfo[]>();
  for (const c of categories) {
    const k = c.theme ?? 'none';
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const grid = el('div', { class: 'themes' }, ...[...groups].map(([theme, cats]) => el('section', { class: 'theme', 'aria-labelledby': `theme-${theme}` },
    el('h3', { id: `theme-${theme}` }, el('span', { 'aria-hidden': 'true' }, THEME_ICON[theme] ?? '•'), ' ', theme === 'none' ? tr('theme_none') : label(THEME, theme)),
    el('div', { class: 'grid' }, ...cats.map((c) => el('button', { type: 'button', class: `cat${c.urgent ? ' urgent' : ''}`, 'data-code': c.code, onclick: () => chosen(c) }, catLabel(c)))))));
  const nav = el('nav', { class: 'actions', 'aria-label': tr('app') },
    el('button', { type: 'button', id: 'mine', onclick: () => void mine() }, tr('mine')),
    session!.role === 'beveiliger' ? el('button', { type: 'button', id: 'patrol', onclick: () => void patrolScreen() }, tr('patrol')) : null,
    el('button', { type: 'button', class: 'link', id: 'sign-out', onclick: () => void signOut() }, tr('signOut')));
  replace(root, header(), el('main', {},
    status,
    urgent.length ? el('section', { class: 'spoed', 'aria-labelledby': 'spoed-title' },
      el('h2', { id: 'spoed-title' }, tr('urgent')),
      el('p', {}, tr('urgentHelp'), ' ', el('a', { href: 'tel:112', class: 'call' }, tr('call112'))),
      el('div', { class: 'grid' }, ...urgent.map((c) => el('button', { type: 'button', class: 'cat urgent', onclick: () => chosen(c) }, catLabel(c))))) : null,
    el('h2', {}, tr('whatHappened')),
    grid,
    el('div', { id: 'outbox-list' }),
    nav));
  await refreshStatus();
  setScreen('home');
}

// ------------------------------------------------------------------ the outbox, as the user sees it

async function refreshStatus() {
  const all = await store.items();
  const waiting = all.filter((i) => i.state === 'waiting');
  const stuck = all.filter((i) => i.state === 'stuck');
  const parts: string[] = [];
  if (waiting.length) parts.push(tr('waiting')(waiting.length));
  if (stuck.length) parts.push(tr('stuck')(stuck.length));
  status.textContent = parts.length ? parts.join(' · ') : (navigator.onLine ? tr('allSent') : tr('offline'));
  status.dataset.waiting = String(waiting.length);
  status.dataset.stuck = String(stuck.length);
  const list = document.getElementById('outbox-list');
  if (!list) return;
  if (!waiting.length && !stuck.length) { list.replaceChildren(); return; }
  replace(list, el('h2', {}, tr('outbox')), el('ul', { class: 'outbox' }, ...[...stuck, ...waiting].map((i) => el('li', { class: `item ${i.state}`, 'data-id': i.id },
    el('strong', {}, i.state === 'stuck' ? tr('stuckLabel') : tr('waitingLabel')), ': ', i.title,
    i.reason ? el('p', { class: 'error' }, i.reason) : null,
    el('div', { class: 'row' },
      i.state === 'stuck' && i.kind === 'report' && i.draft ? el('button', { type: 'button', onclick: () => void fixItem(i) }, tr('fix')) : null,
      i.state === 'waiting' ? el('button', { type: 'button', onclick: async () => { i.next_at = 0; await store.save(i); void send(); } }, tr('retryNow')) : null,
      el('button', { type: 'button', class: 'danger', onclick: async () => { if (confirm(tr('removeConfirm'))) { await store.drop(i); await refreshStatus(); } } }, tr('remove')))))));
}

/** Sends what can be sent; schedules the next attempt when something waits. */
async function send(opts: { connected?: boolean } = {}) {
  clearTimeout(flushTimer);
  const r = await outbox.flush(lang, opts);
  await refreshStatus();
  if (r.signedOut) { await store.remove('session'); session = null; join(''); return; }
  if (r.nextAt !== null) flushTimer = window.setTimeout(() => void send(), Math.max(250, r.nextAt - Date.now()));
  // Where the browser has Background Sync, it retries after the page is gone too.
  if (r.waiting) {
    const reg = await navigator.serviceWorker?.getRegistration('/melden/');
    await (reg as (ServiceWorkerRegistration & { sync?: { register(tag: string): Promise<void> } }) | undefined)?.sync?.register('outbox').catch(() => {});
  }
}

/** A stuck report being fixed whose category is gone: the next category chosen takes it. */
let fixing: Item | null = null;

/** Opens a stuck report's form again, as it was filled in, photos included. */
async function fixItem(item: Item) {
  categories = await loadCategories(); // the reason may be a category that is no longer offered
  const c = categories.find((x) => x.code === (item.draft as { category?: string })?.category);
  if (c) return reportForm(c, { item });
  fixing = item; // its category is no longer offered: choose another
  toast(tr('chooseCategory'));
  document.querySelector<HTMLElement>('.themes button.cat')?.focus();
}

/** A category was chosen on the home screen. */
function chosen(c: CategoryInfo) {
  const item = fixing;
  fixing = null;
  void reportForm(c, item ? { item } : {});
}

// ------------------------------------------------------------------ the report form

interface Draft { category: string; description: string; when: string; answers: Record<string, Json>; anonymous: boolean; fix: Fix | null; patrol_id?: string; asset_id?: string | null }

async function reportForm(c: CategoryInfo, opts: { patrolId?: string; item?: Item } = {}) {
  setScreen('report');
  const prior = opts.item?.draft as unknown as Draft | undefined;
  const photos: { key: string; blob: Blob; url: string }[] = [];
  let fix: Fix | null = prior?.fix ?? null;
  let photoPos: [number, number] | null = null;
  let watch: number | null = null;
  const message = el('p', { class: 'error', role: 'alert', id: 'form-error' });

  // Photos: prepared in a worker; each gets a fixed-size slot at once, so nothing shifts.
  const thumbs = el('ul', { class: 'thumbs', 'aria-label': tr('photos') });
  /** Shows a prepared photo in its slot and keeps it for the report (under a key of its own). */
  const keep = (blob: Blob, slot: HTMLElement) => {
    const key = uuid();
    const url = URL.createObjectURL(blob);
    photos.push({ key, blob, url });
    replace(slot, el('img', { src: url, alt: `${tr('photos')} ${photos.length}`, width: 96, height: 96 }),
      el('button', { type: 'button', class: 'remove', 'aria-label': tr('removePhoto'), onclick: () => { photos.splice(photos.findIndex((x) => x.key === key), 1); slot.remove(); URL.revokeObjectURL(url); } }, '×'));
    slot.classList.remove('preparing');
  };
  const addPhotos = async (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) {
      const slot = el('li', { class: 'thumb preparing' }, el('span', {}, tr('preparing')));
      thumbs.append(slot);
      try {
        if (!fix && !photoPos) { photoPos = await exifPosition(file); renderLocation(); }
        keep((await prepare(file)).blob, slot);
      } catch (e) {
        console.warn('photo', e);
        replace(slot, el('span', { class: 'error' }, tr('photoFailed')));
      }
    }
  };
  // A stuck report being fixed keeps its photos (new keys: the old item is dropped with its own).
  for (const step of opts.item?.steps ?? []) {
    const blob = step.photo ? await store.photo(step.photo) : undefined;
    if (blob) keep(blob, thumbs.appendChild(el('li', { class: 'thumb' })));
  }
  const camera = el('input', { type: 'file', accept: 'image/*', capture: 'environment', id: 'camera', class: 'visually-hidden' });
  const gallery = el('input', { type: 'file', accept: 'image/*', multiple: true, id: 'gallery', class: 'visually-hidden' });
  camera.addEventListener('change', () => void addPhotos(camera.files).then(() => { camera.value = ''; }));
  gallery.addEventListener('change', () => void addPhotos(gallery.files).then(() => { gallery.value = ''; }));

  // Location: the best fix so far, its accuracy shown; poor fixes give a choice.
  const locBox = el('div', { class: 'location', id: 'location', 'aria-live': 'polite' });
  const pinBox = el('div', { class: 'pin-map', id: 'pin-map', hidden: true });
  const renderLocation = () => {
    const kids: Child[] = [];
    if (!fix) kids.push(el('p', {}, watch !== null ? tr('locating') : tr('noFix')));
    else if (fix.source === 'pin') kids.push(el('p', { 'data-fix': 'pin' }, tr('pinned')));
    else kids.push(el('p', { 'data-fix': fix.source, 'data-accuracy': fix.accuracy ?? '' }, fix.source === 'photo' ? tr('usePhotoPos') : `${tr('accuracy')} ${Math.round(fix.accuracy ?? 0)} ${tr('m')}`));
    const poor = fix?.source === 'gps' && (fix.accuracy ?? 0) > 100;
    if (poor) kids.push(el('p', { class: 'warn', id: 'poor-fix' }, tr('poorFix')));
    if (!fix && photoPos) kids.push(el('button', { type: 'button', id: 'use-photo-pos', onclick: () => { fix = { lat: photoPos![0], lon: photoPos![1], accuracy: null, source: 'photo' }; renderLocation(); } }, tr('usePhotoPos')));
    kids.push(el('div', { class: 'row' },
      poor ? el('button', { type: 'button', id: 'wait-fix', onclick: () => startWatch() }, tr('waitFix')) : null,
      el('button', { type: 'button', id: 'place-pin', onclick: () => void openPin() }, tr('placePin'))));
    replace(locBox, ...kids);
    void offerAssets();
  };
  const startWatch = () => {
    if (!('geolocation' in navigator) || watch !== null) return;
    watch = navigator.geolocation.watchPosition((p) => {
      if (fix?.source === 'pin') return;
      const better = !fix || fix.source !== 'gps' || p.coords.accuracy <= (fix.accuracy ?? Infinity);
      if (better) { fix = { lat: p.coords.latitude, lon: p.coords.longitude, accuracy: p.coords.accuracy, source: 'gps' }; renderLocation(); }
    }, () => { if (watch !== null) navigator.geolocation.clearWatch(watch); watch = null; renderLocation(); }, { enableHighAccuracy: true, maximumAge: 10_000, timeout: 30_000 });
  };
  const stopWatch = () => { if (watch !== null) navigator.geolocation.clearWatch(watch); watch = null; };
  const openPin = async () => {
    pinBox.hidden = false;
    const [{ createMap, pinMarker }, cfg, area] = await Promise.all([import('../map'), cached<UiConfig>('ui-config', '/ui-config'), cached<Area>(`area:${session!.area_id}`, `/areas/${session!.area_id}`)]);
    const map = createMap(pinBox, cfg, area);
    const start = fix ?? (() => { const b = area.boundary as unknown as GeoJSON.Polygon; const ring = (b.type === 'Polygon' ? b.coordinates[0] : (b as unknown as GeoJSON.MultiPolygon).coordinates[0][0]); return { lat: ring.reduce((s, p) => s + p[1], 0) / ring.length, lon: ring.reduce((s, p) => s + p[0], 0) / ring.length }; })();
    map.once('load', () => { map.jumpTo({ center: [start.lon, start.lat], zoom: 17 }); document.body.dataset.pinMap = 'ready'; });
    stopWatch();
    fix = { lat: start.lat, lon: start.lon, accuracy: null, source: 'pin' };
    pinMarker(map, [start.lat, start.lon], ([lat, lon]) => { fix = { lat, lon, accuracy: null, source: 'pin' }; renderLocation(); });
    renderLocation();
  };

  // The asset it is about (a lamp post for broken lighting): offered from the register near the fix, online only.
  let assetId: string | null = prior?.asset_id ?? null;
  const assetBox = el('fieldset', { class: 'assets', id: 'assets', hidden: true });
  let assetsAt: Fix | null = null;
  const offerAssets = async () => {
    if (!fix || !navigator.onLine || (assetsAt && metres(fix, assetsAt) < 10)) return;
    const at = fix;
    assetsAt = at;
    const near = await nearestAssets(c.code, at).catch(() => [] as NearestAsset[]);
    if (fix !== at) return; // moved on meanwhile: the next fix asks again
    if (!near.some((a) => a.id === assetId)) assetId = null;
    assetBox.hidden = near.length === 0;
    const radio = (value: string, text: string) => el('label', { class: 'check' },
      el('input', { type: 'radio', name: 'asset', value, checked: (assetId ?? '') === value, onchange: () => { assetId = value || null; } }), ' ', text);
    replace(assetBox, el('legend', {}, tr('asset')), el('p', { class: 'hint' }, tr('assetHelp')),
      ...near.map((a) => radio(a.id, [`${label(ASSET_KIND, a.kind)} ${a.external_id}`, a.name, a.street, `${Math.round(a.distance_m)} ${tr('m')}`].filter(Boolean).join(' · '))),
      radio('', tr('assetUnknown')));
  };

  // Extra questions.
  const answers = new Map<string, () => Json | undefined>();
  const questionFields = (c.questions ?? []).map((q) => questionField(q, prior?.answers?.[q.code], answers));

  const description = el('textarea', { id: 'description', rows: 3, maxlength: 2000 });
  description.value = prior?.description ?? '';
  const whenNow = el('input', { type: 'radio', name: 'when', id: 'when-now', value: 'now', checked: true });
  const whenEarlier = el('input', { type: 'radio', name: 'when', id: 'when-earlier', value: 'earlier' });
  const time = el('input', { type: 'time', id: 'time', 'aria-label': tr('time') });
  const anonymous = el('input', { type: 'checkbox', id: 'anonymous', checked: !!prior?.anonymous });
  const sendButton = el('button', { type: 'submit', class: 'primary', id: 'send' }, tr('send'));
  const form = el('form', { class: 'report', 'aria-labelledby': 'report-title', novalidate: true },
    el('h2', { id: 'report-title' }, catLabel(c)),
    c.urgent ? el('p', { class: 'spoed-note', role: 'note' }, tr('urgentHelp'), ' ', el('a', { href: 'tel:112', class: 'call' }, tr('call112'))) : null,
    el('fieldset', { class: 'photos' }, el('legend', {}, tr('photos')),
      el('div', { class: 'row' }, el('label', { for: 'camera', class: 'button' }, tr('photo')), camera, el('label', { for: 'gallery', class: 'button secondary' }, tr('gallery')), gallery),
      thumbs),
    el('fieldset', {}, el('legend', {}, tr('location')), locBox, pinBox),
    assetBox,
    ...questionFields,
    el('label', { for: 'description' }, tr('description')), description,
    el('fieldset', { class: 'when' }, el('legend', {}, tr('when')),
      el('label', {}, whenNow, ' ', tr('now')), el('label', {}, whenEarlier, ' ', tr('earlier')), time),
    el('label', { class: 'check' }, anonymous, ' ', tr('anonymous')),
    message,
    el('div', { class: 'row' }, sendButton, el('button', { type: 'button', class: 'secondary', onclick: () => { stopWatch(); void (opts.patrolId ? patrolScreen() : home()); } }, tr('cancel'))));
  time.addEventListener('input', () => { whenEarlier.checked = true; });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    message.textContent = '';
    const collected: Record<string, Json> = {};
    for (const [code, read] of answers) {
      const v = read();
      if (v === undefined) continue;
      if (v instanceof Error) { message.textContent = v.message; return; }
      collected[code] = v;
    }
    for (const q of c.questions ?? []) {
      if (q.required && collected[q.code] === undefined) {
        message.textContent = `${lang === 'en' ? q.label_en : q.label_nl}: ${tr('missingAnswer')}`;
        document.getElementById(`q-${q.code}`)?.focus();
        return;
      }
    }
    if (!fix) { message.textContent = tr('needLocation'); return; }
    let occurred = new Date();
    if (whenEarlier.checked && time.value) {
      const [h, m] = time.value.split(':').map(Number);
      occurred = new Date(); occurred.setHours(h, m, 0, 0);
      if (occurred > new Date()) occurred = new Date();
    }
    stopWatch();
    const draft: Draft = { category: c.code, description: description.value, when: occurred.toISOString(), answers: collected, anonymous: anonymous.checked, fix, patrol_id: opts.patrolId, asset_id: assetId };
    const id = uuid(); // a fixed report is a new report: the stuck one is replaced
    const body: Record<string, Json> = {
      id, area_id: session!.area_id, category: c.code,
      location: fix.accuracy !== null ? { lat: fix.lat, lon: fix.lon, accuracy_m: Math.round(fix.accuracy * 10) / 10 } : { lat: fix.lat, lon: fix.lon },
      occurred_at: occurred.toISOString(),
    };
    if (description.value.trim()) body.description = description.value.trim();
    if (opts.patrolId) body.patrol_id = opts.patrolId;
    if (Object.keys(collected).length) body.answers = collected;
    if (anonymous.checked) body.anonymous = true;
    if (assetId) body.asset_id = assetId;
    const photoSteps = photos.map((p) => ({ method: 'PUT' as const, path: `/incidents/${id}/photos/${uuid()}`, photo: p.key }));
    // Durable first: the report and its photos are on the device before anything is sent.
    const item = await store.enqueue({
      id, kind: 'report', created_at: new Date().toISOString(), steps: [{ method: 'POST', path: '/incidents', json: body }, ...photoSteps],
      // Online, it is held until the reporter has seen what was reported nearby.
      done: 0, state: 'waiting', attempts: 0, next_at: 0, held: navigator.onLine, title: `${catLabel(c)}, ${fmtDate(occurred.toISOString())}${description.value.trim() ? `: “${description.value.trim().slice(0, 40)}”` : ''}`,
      draft: draft as unknown as Json,
      // Urgent reports jump the queue, unless they belong to a patrol whose start may still be waiting.
      urgent: c.urgent && !opts.patrolId,
    }, photos.map((p) => [p.key, p.blob]));
    if (opts.item) await store.drop(opts.item);
    for (const p of photos) URL.revokeObjectURL(p.url);
    if (opts.patrolId) await bumpFindings();
    // Online: ask first whether it was already reported nearby.
    if (navigator.onLine) {
      const near = await nearby(c.code, fix).catch(() => []);
      if (near.length) return duplicates(item, near, opts.patrolId);
    }
    await release(item, opts.patrolId);
  });
  replace(root, header(), el('main', {}, form));
  renderLocation();
  startWatch();
  (document.querySelector('label[for=camera]') as HTMLElement | null)?.focus();
}

/** Lets a held report go now. */
async function release(item: Item, patrolId?: string) {
  item.next_at = 0;
  item.held = false;
  await store.save(item);
  await refreshStatus(); // the count the next screen shows includes this one at once
  toast(navigator.onLine ? tr('sentOk') : tr('saved'));
  await (patrolId ? patrolScreen() : home());
  void send();
}

function toast(text: string) {
  const t = el('p', { class: 'toast', role: 'status', id: 'toast' }, text);
  document.getElementById('toast')?.remove();
  document.body.append(t);
  setTimeout(() => t.remove(), 5000);
}

function questionField(q: Question, prior: Json | undefined, answers: Map<string, () => Json | undefined>): HTMLElement {
  const qLabel = (lang === 'en' ? q.label_en : q.label_nl) + (q.required ? ` (${tr('required')})` : '');
  const optLabel = (o: { label_nl: string; label_en: string }) => (lang === 'en' ? o.label_en : o.label_nl);
  const id = `q-${q.code}`;
  switch (q.kind) {
    case 'yes_no': {
      const yes = el('input', { type: 'radio', name: id, id, value: 'yes', checked: prior === true });
      const no = el('input', { type: 'radio', name: id, id: `${id}-no`, value: 'no', checked: prior === false });
      answers.set(q.code, () => (yes.checked ? true : no.checked ? false : undefined));
      return el('fieldset', { class: 'question' }, el('legend', {}, qLabel), el('label', {}, yes, ' ', tr('yes')), el('label', {}, no, ' ', tr('no')));
    }
    case 'choice': {
      const select = el('select', { id }, el('option', { value: '' }, '–'), ...(q.options ?? []).map((o) => el('option', { value: o.code, selected: prior === o.code }, optLabel(o))));
      answers.set(q.code, () => select.value || undefined);
      return el('div', { class: 'question' }, el('label', { for: id }, qLabel), select);
    }
    case 'multiple_choice': {
      const boxes = (q.options ?? []).map((o, i) => el('input', { type: 'checkbox', id: i ? `${id}-${o.code}` : id, value: o.code, checked: Array.isArray(prior) && prior.includes(o.code) }));
      answers.set(q.code, () => { const v = boxes.filter((b) => b.checked).map((b) => b.value); return v.length ? v : undefined; });
      return el('fieldset', { class: 'question' }, el('legend', {}, qLabel), ...boxes.map((b, i) => el('label', {}, b, ' ', optLabel(q.options![i]))));
    }
    case 'number': {
      // Text with a decimal keyboard: Dutch numbers have a decimal comma, which a number input refuses.
      const input = el('input', { id, type: 'text', inputmode: 'decimal', autocomplete: 'off', value: typeof prior === 'number' ? String(prior).replace('.', ',') : undefined });
      answers.set(q.code, () => {
        if (!input.value.trim()) return undefined;
        const n = Number(input.value.replace(',', '.'));
        const ok = Number.isFinite(n) && (q.min == null || n >= q.min) && (q.max == null || n <= q.max);
        return ok ? n : (new Error(`${qLabel}: ${tr('badNumber')}${q.min != null && q.max != null ? ` (${q.min}–${q.max})` : ''}`) as unknown as Json);
      });
      return el('div', { class: 'question' }, el('label', { for: id }, qLabel), input);
    }
    default: {
      const input = el('input', { id, type: 'text', maxlength: 200, value: typeof prior === 'string' ? prior : undefined });
      answers.set(q.code, () => input.value.trim() || undefined);
      return el('div', { class: 'question' }, el('label', { for: id }, qLabel), input);
    }
  }
}

async function cached<T>(key: string, path: string): Promise<T> {
  try {
    const v = (await call<T>(path)).data;
    await store.put(key, v);
    return v;
  } catch (e) {
    const v = await store.get<T>(key);
    if (v !== undefined) return v;
    throw e;
  }
}

// ------------------------------------------------------------------ "al gemeld in de buurt"

type Near = Nearby['items'][number];

/** Open reports nearby, asked for at most 3 s (then the report simply goes). */
async function nearby(category: string, fix: Fix): Promise<Near[]> {
  const path = `/areas/${session!.area_id}/nearby?category=${category}&lat=${fix.lat}&lon=${fix.lon}`;
  return (await call<Nearby>(path, { timeoutMs: 3000 })).data.items;
}

/** The register's assets a report of this category may be about near the fix, asked for at most 3 s. */
async function nearestAssets(category: string, fix: Fix): Promise<NearestAsset[]> {
  const acc = fix.accuracy !== null ? `&accuracy_m=${Math.min(10000, Math.round(fix.accuracy))}` : '';
  return (await call<NearestAsset[]>(`/areas/${session!.area_id}/assets/nearest?category=${category}&lat=${fix.lat}&lon=${fix.lon}${acc}`, { timeoutMs: 3000 })).data;
}

function ago(iso: string): string {
  const h = (Date.now() - Date.parse(iso)) / 3_600_000;
  const rtf = new Intl.RelativeTimeFormat(lang === 'en' ? 'en-GB' : 'nl-NL', { numeric: 'auto' });
  return h < 1 ? rtf.format(-Math.round(h * 60), 'minute') : h < 48 ? rtf.format(-Math.round(h), 'hour') : rtf.format(-Math.round(h / 24), 'day');
}

function duplicates(item: Item, near: Near[], patrolId?: string) {
  setScreen('nearby');
  const cat = (code: string) => { const c = categories.find((x) => x.code === code); return c ? catLabel(c) : code; };
  replace(root, header(), el('main', {}, el('section', { class: 'card', 'aria-labelledby': 'near-title' },
    el('h2', { id: 'near-title' }, tr('nearbyTitle')),
    el('p', {}, tr('nearbyHelp')),
    el('ul', { class: 'near' }, ...near.map((n) => el('li', {},
      el('p', {}, `${cat(n.category)}, ${ago(n.occurred_at)} · ${Math.round(n.distance_m)} ${tr('m')} · ${label(STATUS, n.status)}`),
      el('button', { type: 'button', class: 'primary same', 'data-id': n.id, onclick: async () => {
        // The report becomes a confirmation of the existing one: queued the same way.
        await store.drop(item);
        const confirmation = await store.enqueue({ id: uuid(), kind: 'confirmation', created_at: new Date().toISOString(), steps: [{ method: 'POST', path: `/incidents/${n.id}/confirmations`, json: { id: uuid() } }], done: 0, state: 'waiting', attempts: 0, next_at: 0, title: `${tr('same')}: ${cat(n.category)}` });
        await release(confirmation, patrolId);
      } }, tr('same'))))),
    el('button', { type: 'button', id: 'not-same', onclick: () => void release(item, patrolId) }, tr('notSame')))));
  (document.querySelector('button.same') as HTMLElement | null)?.focus();
}

// ------------------------------------------------------------------ my reports

async function mine() {
  setScreen('loading');
  let page: Incident[];
  let offline = false;
  try {
    page = (await call<IncidentPage>(`/incidents?mine=true&area_id=${session!.area_id}&limit=50`)).data.items;
    await store.put('mine', page);
  } catch {
    page = (await store.get<Incident[]>('mine')) ?? [];
    offline = true;
  }
  const cat = (code: string) => { const c = categories.find((x) => x.code === code); return c ? catLabel(c) : code; };
  const notifyMsg = el('p', { role: 'status' });
  replace(root, header(), el('main', {},
    el('h2', {}, tr('mine')),
    offline ? el('p', { class: 'warn' }, tr('offlineList')) : null,
    page.length ? el('ul', { class: 'mine' }, ...page.map((i) => {
      const details = el('div', { class: 'details' });
      return el('li', { 'data-id': i.id, id: `r-${i.id}` },
        el('details', { ontoggle: (e: Event) => { if ((e.target as HTMLDetailsElement).open) void showFollowUp(i.id, details); } },
          el('summary', {}, el('strong', {}, cat(i.category)), ` · ${fmtDate(i.occurred_at)} · `, el('span', { class: `badge status-${i.status}` }, label(STATUS, i.status)),
            i.assigned_to ? ` · ${tr('assigned')} ${label(ORG, i.assigned_to)}` : ''),
          details));
    })) : el('p', {}, tr('noneYet')),
    el('div', { class: 'row' },
      el('button', { type: 'button', onclick: () => void mine() }, tr('refresh')),
      el('button', { type: 'button', id: 'notify', onclick: () => void enableNotifications(notifyMsg) }, tr('notify')),
      el('button', { type: 'button', class: 'secondary', onclick: () => void home() }, tr('back'))),
    notifyMsg,
    offline ? null : myData(call, exportZip, (message) => void signedOut(message))));
  setScreen('mine');
  const linked = new URLSearchParams(location.hash.slice(1)).get('report');
  if (linked) (document.querySelector(`#r-${CSS.escape(linked)} details`) as HTMLDetailsElement | null)?.setAttribute('open', '');
}

async function showFollowUp(id: string, box: HTMLElement) {
  try {
    const f = (await call<FollowUp>(`/incidents/${id}/follow-up`)).data;
    const last = f.comments.at(-1);
    replace(box, last ? el('p', {}, el('strong', {}, `${tr('lastComment')}: `), last.body) : null,
      el('ol', { class: 'history' }, ...f.history.map((h) => el('li', {}, `${fmtDate(h.at)}: ${label(STATUS, h.status)}`, h.reason ? ` (${h.reason})` : ''))));
  } catch (e) { replace(box, el('p', { class: 'error' }, (e as Error).message)); }
}

async function enableNotifications(msg: HTMLElement) {
  try {
    const sub = await subscribeThisBrowser(async () => (await call<{ public_key: string }>('/push/key')).data.public_key);
    if (!sub) throw new Error('no push');
    await call('/push/subscriptions', { method: 'POST', body: { area_id: session!.area_id, ...sub } });
    msg.textContent = tr('notifyOn');
  } catch { msg.textContent = tr('notifyFail'); }
}

// ------------------------------------------------------------------ patrol mode

interface ActivePatrol { id: string; started_at: string; points: { lat: number; lon: number; at: string }[]; pending: { lat: number; lon: number; at: string }[]; distance_m: number; findings: number }

let patrolWatch: number | null = null;
/** Points are kept every ~10 m or 10 s, and sent in batches of this many. */
const BATCH = 20;

function metres(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const rad = Math.PI / 180;
  const x = (b.lon - a.lon) * rad * Math.cos(((a.lat + b.lat) / 2) * rad);
  const y = (b.lat - a.lat) * rad;
  return Math.sqrt(x * x + y * y) * 6_371_000;
}

async function bumpFindings() {
  const p = await store.get<ActivePatrol>('patrol');
  if (p) { p.findings++; await store.put('patrol', p); }
}

async function queuePoints(p: ActivePatrol, all = false) {
  while (p.pending.length >= BATCH || (all && p.pending.length)) {
    const batch = p.pending.splice(0, BATCH);
    await store.enqueue({ id: uuid(), kind: 'patrol_points', created_at: new Date().toISOString(), steps: [{ method: 'POST', path: `/patrols/${p.id}/points`, json: { points: batch } }], done: 0, state: 'waiting', attempts: 0, next_at: 0, title: `${tr('patrol')}: ${batch.length} ${tr('routePoints')}` });
  }
}

function watchRoute() {
  if (patrolWatch !== null || !('geolocation' in navigator)) return;
  patrolWatch = navigator.geolocation.watchPosition(async (pos) => {
    const p = await store.get<ActivePatrol>('patrol');
    if (!p) return;
    const here = { lat: pos.coords.latitude, lon: pos.coords.longitude, at: new Date(pos.timestamp).toISOString() };
    const last = p.points.at(-1);
    if (last && metres(last, here) < 10 && Date.parse(here.at) - Date.parse(last.at) < 10_000) return;
    if (last) p.distance_m += metres(last, here);
    p.points.push(here);
    p.pending.push(here);
    await queuePoints(p);
    await store.put('patrol', p);
    document.getElementById('patrol-points')?.replaceChildren(`${p.points.length} ${tr('routePoints')}`);
    void send();
  }, () => {}, { enableHighAccuracy: true, maximumAge: 5_000 });
}

async function patrolScreen() {
  setScreen('patrol');
  const p = await store.get<ActivePatrol>('patrol');
  if (!p) {
    replace(root, header(), el('main', {}, status, el('h2', {}, tr('patrol')), el('p', {}, tr('screenOn')),
      el('div', { class: 'row' },
        el('button', { type: 'button', class: 'primary', id: 'start-patrol', onclick: async () => {
          const np: ActivePatrol = { id: uuid(), started_at: new Date().toISOString(), points: [], pending: [], distance_m: 0, findings: 0 };
          await store.enqueue({ id: `start-${np.id}`, kind: 'patrol_start', created_at: np.started_at, steps: [{ method: 'POST', path: '/patrols', json: { id: np.id, area_id: session!.area_id, started_at: np.started_at } }], done: 0, state: 'waiting', attempts: 0, next_at: 0, title: tr('startPatrol') });
          await store.put('patrol', np);
          void send();
          await patrolScreen();
        } }, tr('startPatrol')),
        el('button', { type: 'button', class: 'secondary', onclick: () => void home() }, tr('back')))));
    await refreshStatus();
    return;
  }
  watchRoute();
  replace(root, header(), el('main', {}, status,
    el('h2', {}, tr('patrol')),
    el('p', {}, `${tr('patrolActive')} ${fmtDate(p.started_at)}`),
    el('p', { id: 'patrol-points' }, `${p.points.length} ${tr('routePoints')}`),
    el('p', {}, tr('screenOn')),
    el('h3', {}, tr('finding')),
    el('div', { class: 'grid' }, ...categories.map((c) => el('button', { type: 'button', class: `cat${c.urgent ? ' urgent' : ''}`, 'data-code': c.code, onclick: () => void reportForm(c, { patrolId: p.id }) }, catLabel(c)))),
    el('div', { class: 'row' }, el('button', { type: 'button', class: 'primary', id: 'end-patrol', onclick: () => void endPatrol() }, tr('endPatrol')))));
  await refreshStatus();
}

async function endPatrol() {
  const p = await store.get<ActivePatrol>('patrol');
  if (!p) return;
  if (patrolWatch !== null) navigator.geolocation.clearWatch(patrolWatch);
  patrolWatch = null;
  await queuePoints(p, true);
  const ended = new Date().toISOString();
  await store.enqueue({ id: `end-${p.id}`, kind: 'patrol_end', created_at: ended, steps: [{ method: 'POST', path: `/patrols/${p.id}/end`, json: { ended_at: ended } }], done: 0, state: 'waiting', attempts: 0, next_at: 0, title: tr('endPatrol') });
  await store.remove('patrol');
  void send();
  setScreen('patrol-summary');
  const minutes = Math.round((Date.parse(ended) - Date.parse(p.started_at)) / 60_000);
  replace(root, header(), el('main', {}, status, el('section', { class: 'card', id: 'summary', 'aria-labelledby': 'summary-title' },
    el('h2', { id: 'summary-title' }, tr('summary')),
    el('dl', {},
      el('dt', {}, tr('duration')), el('dd', {}, `${minutes} ${tr('minutes')}`),
      el('dt', {}, tr('distance')), el('dd', { id: 'summary-distance' }, `${(p.distance_m / 1000).toFixed(2).replace('.', lang === 'nl' ? ',' : '.')} ${tr('km')}`),
      el('dt', {}, tr('findings')), el('dd', { id: 'summary-findings' }, String(p.findings))),
    el('button', { type: 'button', onclick: () => void home() }, tr('back')))));
  await refreshStatus();
}

void boot().catch((e) => { replace(root, el('p', { class: 'error', role: 'alert' }, String(e))); setScreen('error'); });
