// The beheerder's console (`/beheer/?area=…&tab=…`): the area and its
// boundary, zones drawn on the map, categories with their questions, people
// (invites with a QR code and a printable letter, members, phones, web
// accounts), the municipality's registers (assets and streets), privacy and
// links (retention, the public view, Open311 keys and the gemeente's own
// Open311 endpoint) and the audit log. Every change goes through the same API the
// `kvo` tool's code does; the server checks the role and logs it.
import './beheer.css';
import type { Map as MlMap } from 'maplibre-gl';
import {
  api, ApiError, type Area, type Asset, type AssetKind, type AuditPage, type CategorySettings, type CreatedAccount, type CreatedInvite,
  type InviteInfo, type Me, type MemberInfo, type PasswordLink, type Question, type RegisterImport, type Role, type StreetImport, type UiConfig,
} from '../api';
import { el, replace } from '../dom';
import { pageFailed } from '../page';
import { DIMENSION, THEME, fmtDate, label, lang } from '../i18n';
import { ASSET_COLOURS, createMap, showAssets } from '../map';
import { Drawing, markProblem, showDraft } from './draw';
import { b } from './texts';

const root = document.getElementById('app')!;
const params = new URLSearchParams(location.search);
const TABS = ['gebied', 'zones', 'categorieen', 'registers', 'mensen', 'privacy', 'logboek'] as const;
type Tab = (typeof TABS)[number];
const INVITE_ROLES: Role[] = ['ondernemer', 'beveiliger', 'werkgroep', 'gemeente', 'politie', 'brandweer'];
const ACCOUNT_ROLES: Role[] = ['werkgroep', 'gemeente', 'politie', 'brandweer', 'beveiliger', 'beheerder'];

function setState(state: 'loading' | 'idle' | 'error' | 'signin' | 'busy') {
  document.body.dataset.state = state;
}

function link(p: Record<string, string>): string {
  const q = new URLSearchParams(p);
  if (lang === 'en') q.set('lang', 'en');
  return `/beheer/?${q}`;
}

/** This page in the other language. */
function otherLanguage(): string {
  const q = new URLSearchParams(location.search);
  if (lang === 'en') q.delete('lang'); else q.set('lang', 'en');
  return `/beheer/?${q}`;
}

/** The message line of the current tab: a success, or the server's problem (and its spot on the map). */
const message = el('p', { class: 'message', role: 'status', 'aria-live': 'polite' });
let map: MlMap | null = null;
function say(text: string, kind: 'ok' | 'error' = 'ok') {
  message.textContent = text;
  message.className = `message ${kind}`;
  message.setAttribute('role', kind === 'error' ? 'alert' : 'status');
}
/** Runs a change; shows its problem (and marks its spot) when the server refuses it. Undefined only on failure. */
async function attempt<T>(run: () => Promise<T>, done?: string): Promise<T | undefined> {
  setState('busy');
  try {
    // A 204 has no body; it succeeded all the same.
    const result = (await run()) ?? (true as T);
    if (done) say(done);
    if (map) markProblem(map, null, '');
    setState('idle');
    return result;
  } catch (e) {
    const p = e instanceof ApiError ? e.problem : null;
    say(p?.detail ?? (e instanceof Error ? e.message : String(e)), 'error');
    if (map && p?.at) markProblem(map, p.at as [number, number], b('problemAt'));
    setState('idle');
    return undefined;
  }
}

const input = (attrs: Record<string, string | number | boolean | undefined>) => el('input', attrs);
const field = (text: string, control: HTMLElement) => el('label', { class: 'field' }, el('span', {}, text), control);
function select(options: [string, string][], value: string, attrs: Record<string, string> = {}) {
  return el('select', attrs, ...options.map(([v, l]) => el('option', { value: v, selected: v === value }, l)));
}
const kindOptions = (): [string, string][] => Object.entries(b('kinds'));
const roleLabel = (r: string) => b('roles')[r] ?? r;

/** Reads a chosen GeoJSON file. */
function geojsonFile(onRead: (value: unknown) => void) {
  return input({ type: 'file', accept: '.geojson,.json,application/geo+json,application/json', 'aria-label': b('upload'),
    onchange: async (e: Event) => {
      const file = (e.target as HTMLInputElement).files?.[0];
      if (!file) return;
      try { onRead(JSON.parse(await file.text())); } catch (err) { say(String(err), 'error'); }
    } } as never);
}

/** A chosen file for an import (CSV or GeoJSON, as its name says). */
function importFile(label: string, accept: string, onFile: (file: File, type: string) => void) {
  return input({ type: 'file', accept, 'aria-label': label, onchange: (e: Event) => {
    const el = e.target as HTMLInputElement;
    const file = el.files?.[0];
    if (!file) return;
    onFile(file, /\.(csv|txt)$/i.test(file.name) ? 'text/csv' : 'application/geo+json');
    el.value = '';
  } } as never);
}

/** A map with the area, its boundary and zones; resolves once drawn. */
function areaMap(cfg: UiConfig, area: Area): Promise<MlMap> {
  const box = el('div', { id: 'admin-map', role: 'region', 'aria-label': b('area') });
  document.querySelector('.map-slot')?.replaceChildren(box);
  const m = createMap(box, cfg, area);
  map = m;
  (window as unknown as { kvoMap: MlMap }).kvoMap = m;
  return new Promise((ok) => m.once('load', () => m.once('idle', () => ok(m))));
}

/** The draw controls: start, undo, done; `onShape` gets the closed polygon. */
function drawControls(getMap: () => MlMap | null, start: string, onShape: (p: GeoJSON.Polygon) => void) {
  const count = el('span', { class: 'count' });
  const box = el('span', { class: 'draw' });
  let drawing: Drawing | null = null;
  const idle = () => replace(box, el('button', { type: 'button', class: 'start-draw', onclick: begin }, start));
  function begin() {
    const m = getMap();
    if (!m) return;
    drawing = new Drawing(m, (n) => { count.textContent = b('drawn')(n); });
    say(b('drawHelp'));
    replace(box,
      el('button', { type: 'button', class: 'finish-draw', onclick: () => {
        const shape = drawing?.finish();
        idle();
        if (shape) onShape(shape);
      } }, b('done')),
      el('button', { type: 'button', class: 'secondary', onclick: () => drawing?.undo() }, b('undo')),
      el('button', { type: 'button', class: 'secondary', onclick: () => { drawing?.stop(); showDraft(m, []); idle(); } }, b('cancel')),
      count);
  }
  idle();
  return box;
}

// ---------------------------------------------------------------- tabs

async function areaTab(panel: HTMLElement, cfg: UiConfig, area: Area) {
  const name = input({ value: area.name, required: true, maxlength: 200, name: 'name' });
  const kind = select(kindOptions(), area.kind, { name: 'kind' });
  const municipality = input({ value: area.municipality ?? '', maxlength: 200, name: 'municipality' });
  const archived = !!area.archived_at;
  const saveBoundary = async (boundary: unknown) => {
    const updated = await attempt(() => api<Area>(`/areas/${area.id}`, { method: 'PATCH', body: { boundary } }), b('saved'));
    if (updated) location.reload();
  };
  replace(panel,
    archived ? el('p', { class: 'archived' }, b('archived')) : null,
    el('form', { class: 'area-form', onsubmit: async (e: Event) => {
      e.preventDefault();
      await attempt(() => api<Area>(`/areas/${area.id}`, { method: 'PATCH', body: { name: name.value, kind: kind.value, municipality: municipality.value } }), b('saved'));
    } }, field(b('name'), name), field(b('kind'), kind), field(b('municipality'), municipality),
      el('button', { type: 'submit', disabled: archived }, b('save'))),
    el('div', { class: 'toolbar' },
      archived ? null : drawControls(() => map, b('redraw'), (shape) => saveBoundary(shape)),
      archived ? null : field(b('upload'), geojsonFile((v) => saveBoundary(v))),
      archived ? null : el('button', { type: 'button', class: 'danger', onclick: async () => {
        if (!confirm(b('confirmArchive'))) return;
        if (await attempt(() => api(`/areas/${area.id}/archive`, { method: 'POST' }))) location.reload();
      } }, b('archive'))),
    el('div', { class: 'map-slot' }),
    el('details', { class: 'new-area' }, el('summary', {}, b('newArea')), newAreaForm()));
  await areaMap(cfg, area);
}

function newAreaForm() {
  const name = input({ required: true, maxlength: 200, name: 'new-name' });
  const kind = select(kindOptions(), 'kvo_w', { name: 'new-kind' });
  const municipality = input({ maxlength: 200, name: 'new-municipality' });
  let boundary: unknown = null;
  const create = async () => {
    const created = await attempt(() => api<Area>('/areas', { method: 'POST', body: { name: name.value, kind: kind.value, municipality: municipality.value || null, boundary } }));
    if (created) location.assign(link({ area: created.id, tab: 'zones' }));
  };
  return el('form', { class: 'area-form', onsubmit: (e: Event) => { e.preventDefault(); void create(); } },
    field(b('name'), name), field(b('kind'), kind), field(b('municipality'), municipality),
    drawControls(() => map, b('redraw'), (shape) => { boundary = shape; void create(); }),
    field(b('upload'), geojsonFile((v) => { boundary = v; if (map) showDraft(map, []); void create(); })),
    el('button', { type: 'submit', class: 'create-area' }, b('createArea')));
}

async function zonesTab(panel: HTMLElement, cfg: UiConfig, area: Area) {
  const zoneName = input({ name: 'zone-name', maxlength: 200, placeholder: b('zoneName'), 'aria-label': b('zoneName') });
  const list = area.zones.length
    ? el('ul', { class: 'zones' }, ...area.zones.map((z) => {
      const n = input({ value: z.name, maxlength: 200, 'aria-label': b('zoneName') });
      return el('li', { 'data-zone': z.id }, n,
        el('button', { type: 'button', class: 'secondary', onclick: async () => {
          if (await attempt(() => api(`/areas/${area.id}/zones/${z.id}`, { method: 'PATCH', body: { name: n.value } }), b('saved'))) location.reload();
        } }, b('rename')),
        el('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!confirm(b('confirmZone')(z.name))) return;
          if (await attempt(() => api(`/areas/${area.id}/zones/${z.id}`, { method: 'DELETE' }))) location.reload();
        } }, b('remove')));
    }))
    : el('p', {}, b('noZones'));
  replace(panel,
    el('div', { class: 'toolbar' }, zoneName,
      drawControls(() => map, b('drawZone'), async (geometry) => {
        const made = await attempt(() => api(`/areas/${area.id}/zones`, { method: 'POST', body: { name: zoneName.value, geometry } }));
        if (made) location.reload();
      })),
    list, el('div', { class: 'map-slot' }));
  await areaMap(cfg, area);
}

/** The editor of one category's questions. */
function questionEditor(c: CategorySettings, onSave: (q: Question[]) => void) {
  const rows = el('div', { class: 'questions' });
  const kinds = Object.entries(b('qkinds'));
  const slug = (s: string) => s.toLowerCase().normalize('NFD').replace(/[^a-z0-9]+/g, '_').replace(/^_|_$/g, '').slice(0, 40) || 'vraag';
  const add = (q?: Question) => {
    const nl = input({ value: q?.label_nl ?? '', 'aria-label': b('questionLabelNl'), class: 'q-nl' });
    const en = input({ value: q?.label_en ?? '', 'aria-label': b('questionLabelEn'), class: 'q-en' });
    const kind = select(kinds, q?.kind ?? 'text', { 'aria-label': b('qkind'), class: 'q-kind' });
    const required = input({ type: 'checkbox', checked: !!q?.required, 'aria-label': b('required'), class: 'q-required' });
    const options = el('textarea', { rows: 2, 'aria-label': b('options'), class: 'q-options' },
      (q?.options ?? []).map((o) => `${o.label_nl} | ${o.label_en}`).join('\n'));
    const row = el('fieldset', { class: 'question', 'data-code': q?.code ?? '' }, nl, en, kind, field(b('required'), required), options,
      el('button', { type: 'button', class: 'secondary', onclick: () => row.remove() }, b('remove')));
    (row as unknown as { read: () => Question }).read = () => {
      const code = row.dataset.code || slug(nl.value);
      const isChoice = kind.value === 'choice' || kind.value === 'multiple_choice';
      return {
        code, kind: kind.value as Question['kind'], label_nl: nl.value, label_en: en.value || nl.value, required: required.checked,
        options: isChoice ? options.value.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
          const [onl, oen] = l.split('|').map((x) => x.trim());
          return { code: slug(onl), label_nl: onl, label_en: oen || onl };
        }) : [],
      } as Question;
    };
    rows.append(row);
  };
  (c.questions ?? []).forEach(add);
  return el('div', { class: 'question-editor' }, rows,
    el('button', { type: 'button', class: 'secondary add-question', onclick: () => add() }, b('addQuestion')),
    el('button', { type: 'button', class: 'save-questions', onclick: () =>
      onSave([...rows.children].map((r) => (r as unknown as { read: () => Question }).read())) }, b('save')));
}

async function categoriesTab(panel: HTMLElement, area: Area) {
  const list = await api<CategorySettings[]>(`/areas/${area.id}/category-settings`);
  const name = (c: CategorySettings) => (lang === 'en' ? c.label_en : c.label_nl);
  const rows = list.map((c) => {
    const enabled = input({ type: 'checkbox', checked: c.enabled, 'aria-label': `${b('enabled')}: ${name(c)}` });
    const urgent = input({ type: 'checkbox', checked: c.urgent, 'aria-label': `${b('urgent')}: ${name(c)}` });
    const radius = input({ type: 'number', min: 0, max: 5000, value: c.duplicate_radius_m, 'aria-label': b('radius') });
    const weeks = input({ type: 'number', min: 1, max: 104, value: c.duplicate_weeks, 'aria-label': b('weeks') });
    const save = (body: Record<string, unknown>) => attempt(() => api(`/areas/${area.id}/categories/${c.code}`, { method: 'PATCH', body }), b('saved'));
    const editor = el('td', { colspan: 8, class: 'editor-cell' });
    const editorRow = el('tr', { class: 'editor', hidden: true }, editor);
    return [el('tr', { 'data-code': c.code },
      el('td', {}, name(c)), el('td', {}, label(THEME, c.theme)), el('td', {}, label(DIMENSION, c.dimension)),
      el('td', {}, enabled), el('td', {}, urgent), el('td', {}, radius), el('td', {}, weeks),
      el('td', {}, el('button', { type: 'button', class: 'secondary edit-questions', onclick: () => {
        editorRow.hidden = !editorRow.hidden;
        if (!editorRow.hidden) replace(editor, questionEditor(c, (questions) => void save({ questions })));
      } }, `${b('questions')} (${c.questions.length})`),
      el('button', { type: 'button', class: 'save-category', onclick: () => void save({
        enabled: enabled.checked, urgent: urgent.checked, duplicate_radius_m: Number(radius.value), duplicate_weeks: Number(weeks.value) }) }, b('save')))),
    editorRow];
  });
  const code = input({ name: 'cat-code', pattern: '[a-z0-9_]{1,40}', required: true });
  const nl = input({ name: 'cat-nl', required: true, maxlength: 80 });
  const en = input({ name: 'cat-en', required: true, maxlength: 80 });
  const theme = select(Object.keys(THEME).map((k) => [k, label(THEME, k)]), 'overlast', { name: 'cat-theme' });
  const dim = select(Object.keys(DIMENSION).map((k) => [k, label(DIMENSION, k)]), 'schoon', { name: 'cat-dimension' });
  replace(panel,
    el('table', { class: 'categories' },
      el('thead', {}, el('tr', {}, ...[b('label'), b('theme'), b('dimension'), b('enabled'), b('urgent'), b('radius'), b('weeks'), ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows.flat())),
    el('form', { class: 'new-category', onsubmit: async (e: Event) => {
      e.preventDefault();
      const made = await attempt(() => api(`/areas/${area.id}/categories`, { method: 'POST', body: {
        code: code.value, label_nl: nl.value, label_en: en.value, theme: theme.value, dimension: dim.value } }));
      if (made) location.reload();
    } }, el('h2', {}, b('newCategory')), field(b('code'), code), field(b('labelNl'), nl), field(b('labelEn'), en),
      field(b('theme'), theme), field(b('dimension'), dim), el('button', { type: 'submit' }, b('add'))));
}

const ASSET_KINDS = Object.keys(ASSET_COLOURS) as AssetKind[];

/** The registers: per kind of asset how many are in it and a file to import; the streets; the assets on the map. */
async function registersTab(panel: HTMLElement, cfg: UiConfig, area: Area) {
  const assets = await api<Asset[]>(`/areas/${area.id}/assets`);
  const count = (k: AssetKind) => assets.filter((a) => a.kind === k).length;
  const upload = (path: string, file: File, type: string, done: (r: never) => string) =>
    attempt(async () => {
      const r = await api<never>(path, { method: 'PUT', raw: { file, type } });
      say(done(r));
      return r;
    });
  const rows = ASSET_KINDS.map((k) => {
    const what = b('assetKinds')[k];
    const swatch = el('span', { class: 'swatch-box' });
    swatch.style.background = ASSET_COLOURS[k]; // set through the DOM: the CSP refuses style attributes
    return el('tr', { 'data-kind': k },
      el('td', {}, swatch, ' ', what),
      el('td', { class: 'count' }, String(count(k))),
      el('td', {}, importFile(b('chooseFile')(what), '.csv,.txt,.geojson,.json,text/csv,application/geo+json',
        async (file, type) => {
          const r = await upload(`/areas/${area.id}/registers/${k}`, file, type,
            (x: RegisterImport) => b('registerDone')(what, x.crs === 'rd' ? 'RD' : 'WGS 84', x));
          if (r) shown(await api<Asset[]>(`/areas/${area.id}/assets`), rows);
        })));
  });
  replace(panel,
    el('h2', {}, b('registers')), el('p', { class: 'help' }, b('registersHelp')),
    el('table', { class: 'registers' },
      el('thead', {}, el('tr', {}, ...[b('kind'), b('inRegister'), b('readFile')].map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows)),
    el('h2', {}, b('streets')), el('p', { class: 'help' }, b('streetsHelp')),
    field(b('chooseFile')(b('streets')), importFile(b('chooseFile')(b('streets')), '.geojson,.json,application/geo+json',
      (file, type) => void upload(`/areas/${area.id}/streets`, file, type,
        (x: StreetImport) => b('streetsDone')(x.crs === 'rd' ? 'RD' : 'WGS 84', x)))),
    el('div', { class: 'map-slot' }));
  await areaMap(cfg, area);
  shown(assets, rows);
}

/** Draws the assets on the console's map and refreshes the counts. */
function shown(assets: Asset[], rows: HTMLElement[]) {
  for (const row of rows) row.querySelector('.count')!.textContent = String(assets.filter((a) => a.kind === row.dataset.kind).length);
  if (map) showAssets(map, assets);
}

type S_ = import('../api').S;

/** Privacy and links: the retention with what it would remove now, the
 * public view, keys for partners' Open311 systems and the gemeente's own
 * Open311 endpoint (docs/privacy.md, docs/open311.md). */
async function privacyTab(panel: HTMLElement, area: Area) {
  const base = `/areas/${area.id}`;
  const [retention, publicView] = await Promise.all([
    api<S_['RetentionSummary']>(`${base}/retention`), api<S_['PublicViewInfo']>(`${base}/public-view`)]);
  const endpoint = await api<S_['Open311EndpointInfo']>(`${base}/open311-endpoint`).catch(() => null);
  const dry = el('p', { class: 'dry-run' });
  const showDry = (r: S_['RetentionSummary']) => { dry.textContent = b('wouldGo')(r); };
  showDry(retention);
  const months = input({ type: 'number', min: 1, max: 120, value: retention.months, name: 'months', required: true });
  const published = input({ type: 'checkbox', name: 'public', checked: publicView.enabled });
  const texts = input({ type: 'checkbox', name: 'open311-texts', checked: publicView.open311_descriptions });
  const publicLink = el('p', { class: 'public-link' });
  const showLink = (v: S_['PublicViewInfo']) => replace(publicLink, v.enabled
    ? el('a', { href: `/openbaar/?gebied=${v.slug}` }, `${location.origin}/openbaar/?gebied=${v.slug}`) : b('notPublic'));
  showLink(publicView);
  const keyName = input({ name: 'key-name', maxlength: 80, required: true });
  const keyOrg = select(['gemeente', 'politie', 'brandweer', 'beveiliger'].map((o) => [o, roleLabel(o)]), 'gemeente', { name: 'key-org' });
  const keyResult = el('div', { class: 'result' });
  const url = input({ type: 'url', name: 'endpoint-url', value: endpoint?.url ?? '', required: true, maxlength: 500 });
  const remoteKey = input({ name: 'endpoint-key', required: true, maxlength: 500, autocomplete: 'off' });
  const jurisdiction = input({ name: 'endpoint-jurisdiction', value: endpoint?.jurisdiction_id ?? '', maxlength: 200 });
  const codes = el('textarea', { name: 'endpoint-codes', rows: 4 },
    Object.entries(endpoint?.service_codes ?? {}).map(([k, v]) => `${k} = ${v}`).join('\n'));
  const status = el('p', { class: 'endpoint-status' }, endpoint ? b('forwarding')(endpoint) : b('noEndpoint'));
  replace(panel,
    el('h2', {}, b('retention')), el('p', { class: 'help' }, b('retentionHelp')),
    el('form', { class: 'retention', onsubmit: async (e: Event) => {
      e.preventDefault();
      const r = await attempt(() => api<S_['RetentionSummary']>(`${base}/retention`, { method: 'PUT', body: { months: Number(months.value) } }), b('saved'));
      if (r) showDry(r);
    } }, field(b('months'), months), el('button', { type: 'submit' }, b('save'))), dry,
    el('h2', {}, b('publicView')), el('p', { class: 'help' }, b('publicHelp')),
    el('form', { class: 'public-view', onsubmit: async (e: Event) => {
      e.preventDefault();
      const v = await attempt(() => api<S_['PublicViewInfo']>(`${base}/public-view`, { method: 'PUT',
        body: { enabled: (published as HTMLInputElement).checked, open311_descriptions: (texts as HTMLInputElement).checked } }), b('saved'));
      if (v) showLink(v);
    } }, el('label', { class: 'check' }, published, b('publish')), el('label', { class: 'check' }, texts, b('publishTexts')),
      el('button', { type: 'submit' }, b('save'))), publicLink,
    el('h2', {}, b('open311Keys')), el('p', { class: 'help' }, b('open311KeysHelp')(area.name, publicView.slug)),
    el('form', { class: 'api-key', onsubmit: async (e: Event) => {
      e.preventDefault();
      const k = await attempt(() => api<S_['CreatedApiKey']>(`${base}/open311-keys`, { method: 'POST',
        body: { name: (keyName as HTMLInputElement).value, organisation: (keyOrg as HTMLSelectElement).value } }));
      if (k) replace(keyResult, el('p', {}, b('keyMade')), el('code', { class: 'api-key-value' }, k.api_key));
    } }, field(b('keyName'), keyName), field(b('organisation'), keyOrg), el('button', { type: 'submit' }, b('makeKey'))), keyResult,
    el('h2', {}, b('endpoint')), el('p', { class: 'help' }, b('endpointHelp')), status,
    el('form', { class: 'endpoint', onsubmit: async (e: Event) => {
      e.preventDefault();
      const service_codes = Object.fromEntries((codes as HTMLTextAreaElement).value.split('\n')
        .map((l) => l.split('=').map((x) => x.trim())).filter((p) => p.length === 2 && p[0] && p[1]));
      const info = await attempt(() => api<S_['Open311EndpointInfo']>(`${base}/open311-endpoint`, { method: 'PUT', body: {
        url: (url as HTMLInputElement).value, api_key: (remoteKey as HTMLInputElement).value,
        jurisdiction_id: (jurisdiction as HTMLInputElement).value || null, service_codes } }), b('saved'));
      if (info) status.textContent = b('forwarding')(info);
    } }, field(b('endpointUrl'), url), field(b('endpointKey'), remoteKey), field(b('jurisdiction'), jurisdiction),
      field(b('serviceCodes'), codes), el('button', { type: 'submit' }, b('save'))));
}

/** The printable letter for a new invite (only now is its code known). */
function inviteLetter(area: Area, inv: CreatedInvite) {
  const until = fmtDate(inv.invite.expires_at);
  const qr = new DOMParser().parseFromString(inv.qr_svg, 'image/svg+xml').documentElement;
  return el('section', { class: 'letter' },
    el('h2', {}, b('letterTitle')(area.name)),
    el('p', {}, b('letterBody')(roleLabel(inv.invite.role), until)),
    el('div', { class: 'qr' }, document.importNode(qr, true)),
    el('p', {}, el('strong', {}, `${b('letterCode')}: `), el('code', { class: 'invite-code' }, inv.code)),
    el('p', { class: 'invite-link' }, el('strong', {}, `${b('letterLink')}: `), el('a', { href: inv.link }, inv.link)));
}

async function peopleTab(panel: HTMLElement, area: Area) {
  const [invites, members] = await Promise.all([
    api<InviteInfo[]>(`/areas/${area.id}/invites`),
    api<MemberInfo[]>(`/areas/${area.id}/members`),
  ]);
  const result = el('div', { class: 'result' });
  const role = select(INVITE_ROLES.map((r) => [r, roleLabel(r)]), 'ondernemer', { name: 'invite-role' });
  const uses = input({ type: 'number', min: 1, max: 500, value: 1, name: 'invite-uses' });
  const days = input({ type: 'number', min: 1, max: 90, value: 14, name: 'invite-days' });
  const inviteForm = el('form', { class: 'invite-form', onsubmit: async (e: Event) => {
    e.preventDefault();
    const inv = await attempt(() => api<CreatedInvite>(`/areas/${area.id}/invites`, { method: 'POST', body: { role: role.value, uses: Number(uses.value), days: Number(days.value) } }), b('inviteMade'));
    if (inv) replace(result, inviteLetter(area, inv), el('button', { type: 'button', class: 'print-letter no-print', onclick: () => window.print() }, b('letter')));
  } }, field(b('role'), role), field(b('uses'), uses), field(b('days'), days), el('button', { type: 'submit' }, b('invite')));

  const inviteRows = invites.map((i) => el('tr', { 'data-invite': i.id, 'data-state': i.state },
    el('td', {}, roleLabel(i.role)), el('td', {}, `${i.uses} / ${i.max_uses}`), el('td', {}, fmtDate(i.expires_at)),
    el('td', {}, b('states')[i.state] ?? i.state),
    el('td', {}, i.state === 'open' ? el('button', { type: 'button', class: 'secondary', onclick: async () => {
      if (await attempt(() => api(`/areas/${area.id}/invites/${i.id}`, { method: 'DELETE' }))) location.reload();
    } }, b('revoke')) : '')));

  const memberRows = members.map((m) => {
    const r = select(ACCOUNT_ROLES.concat(['ondernemer']).map((x) => [x, roleLabel(x)]), m.role, { 'aria-label': `${b('role')}: ${m.display_name}` });
    r.onchange = () => void attempt(() => api(`/areas/${area.id}/members/${m.person_id}/role`, { method: 'PUT', body: { role: r.value } }), b('saved'));
    return el('tr', { 'data-person': m.person_id },
      el('td', {}, m.display_name), el('td', {}, m.email ?? ''), el('td', {}, r),
      el('td', {}, el('ul', { class: 'devices' }, ...m.devices.map((d) => el('li', { 'data-device': d.id },
        `${d.name ?? '📱'} · ${fmtDate(d.created_at)} `,
        d.revoked_at ? el('em', {}, b('revoked')) : el('button', { type: 'button', class: 'secondary revoke-device', onclick: async () => {
          if (!confirm(b('confirmDevice'))) return;
          if (await attempt(() => api(`/areas/${area.id}/devices/${d.id}`, { method: 'DELETE' }))) location.reload();
        } }, b('revokeDevice')))))),
      el('td', {},
        m.email ? el('button', { type: 'button', class: 'secondary', onclick: async () => {
          const l = await attempt(() => api<PasswordLink>(`/areas/${area.id}/members/${m.person_id}/password-link`, { method: 'POST' }));
          if (l) replace(result, el('p', {}, b('passwordLink')), el('p', {}, el('code', { class: 'password-link' }, l.link)));
        } }, b('resetLink')) : '',
        el('button', { type: 'button', class: 'danger', onclick: async () => {
          if (!confirm(b('confirmRemove')(m.display_name))) return;
          if (await attempt(() => api(`/areas/${area.id}/members/${m.person_id}`, { method: 'DELETE' }))) location.reload();
        } }, b('removeMember'))));
  });

  const email = input({ type: 'email', required: true, name: 'account-email' });
  const who = input({ required: true, maxlength: 200, name: 'account-name' });
  const accountRole = select(ACCOUNT_ROLES.map((r) => [r, roleLabel(r)]), 'werkgroep', { name: 'account-role' });
  const accountForm = el('form', { class: 'account-form', onsubmit: async (e: Event) => {
    e.preventDefault();
    const made = await attempt(() => api<CreatedAccount>(`/areas/${area.id}/accounts`, { method: 'POST', body: { email: email.value, display_name: who.value, role: accountRole.value } }), b('saved'));
    if (!made) return;
    replace(result, made.password_link
      ? el('div', {}, el('p', {}, b('passwordLink')), el('p', {}, el('code', { class: 'password-link' }, made.password_link.link)))
      : el('p', {}, b('existingAccount')));
  } }, field(b('email'), email), field(b('displayName'), who), field(b('role'), accountRole), el('button', { type: 'submit' }, b('makeAccount')));

  replace(panel,
    el('section', { class: 'no-print' }, el('h2', {}, b('invites')), inviteForm),
    result,
    el('section', { class: 'no-print' },
      el('table', { class: 'invites' }, el('thead', {}, el('tr', {}, ...[b('role'), b('used'), b('expires'), b('state'), ''].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...inviteRows)),
      el('h2', {}, b('members')),
      el('table', { class: 'members' }, el('thead', {}, el('tr', {}, ...[b('name'), b('email'), b('role'), b('devices'), ''].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...memberRows)),
      el('h2', {}, b('account')), accountForm));
}

async function logTab(panel: HTMLElement, area: Area) {
  const body = el('tbody', {});
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, b('older'));
  const summary = (v: unknown) => {
    if (v === null || v === undefined) return '';
    const o = v as Record<string, unknown>;
    return Object.entries(o).filter(([k]) => k !== 'geometry' && k !== 'boundary' && k !== 'questions')
      .map(([k, x]) => `${k}: ${typeof x === 'object' ? JSON.stringify(x) : String(x)}`).join(', ');
  };
  const load = async (before?: number) => {
    const page = await api<AuditPage>(`/areas/${area.id}/audit-log${before ? `?before=${before}` : ''}`);
    for (const e of page.entries) {
      body.append(el('tr', { 'data-action': e.action },
        el('td', {}, fmtDate(e.at)), el('td', {}, e.actor), el('td', {}, b('actions')[e.action] ?? e.action), el('td', {}, e.target),
        el('td', { class: 'change' }, [summary(e.before), summary(e.after)].filter(Boolean).join(' → '))));
    }
    more.hidden = !page.next;
    more.onclick = () => void load(page.next ?? undefined);
  };
  replace(panel, el('table', { class: 'log' },
    el('thead', {}, el('tr', {}, ...[b('when'), b('who'), b('what'), b('target'), b('change')].map((h) => el('th', {}, h)))), body), more);
  await load();
}

// ---------------------------------------------------------------- start

async function start() {
  setState('loading');
  try {
    const me = await api<Me>('/me');
    const mine = me.memberships.filter((m) => m.role === 'beheerder');
    if (!mine.length) { setState('idle'); replace(root, el('p', {}, b('notBeheerder'), ' ', el('a', { href: '/' }, b('toMap')))); return; }
    const areaId = mine.some((m) => m.area_id === params.get('area')) ? params.get('area')! : mine[0].area_id;
    const tab: Tab = (TABS as readonly string[]).includes(params.get('tab') ?? '') ? (params.get('tab') as Tab) : 'gebied';
    const [area, cfg] = await Promise.all([api<Area>(`/areas/${areaId}`), api<UiConfig>('/ui-config')]);
    document.body.dataset.area = areaId;
    const panel = el('section', { class: 'panel', 'aria-labelledby': `tab-${tab}` });
    replace(root, el('main', { class: 'beheer' },
      el('header', {},
        el('h1', {}, b('title')),
        mine.length > 1
          ? select(mine.map((m) => [m.area_id, m.area_name]), areaId, { 'aria-label': b('area'), class: 'area-choice' })
          : el('span', { class: 'area-name' }, area.name),
        el('nav', { class: 'no-print' },
          el('a', { href: `/?area=${areaId}${lang === 'en' ? '&lang=en' : ''}` }, b('toMap')),
          el('a', { href: otherLanguage() }, lang === 'en' ? 'Nederlands' : 'English'))),
      el('nav', { class: 'tabs no-print', role: 'tablist' }, ...TABS.map((x, i) =>
        el('a', { id: `tab-${x}`, role: 'tab', href: link({ area: areaId, tab: x }), 'aria-selected': String(x === tab) }, b('tabs')[i]))),
      message, panel));
    root.querySelector<HTMLSelectElement>('.area-choice')?.addEventListener('change', (e) =>
      location.assign(link({ area: (e.target as HTMLSelectElement).value, tab })));
    if (tab === 'gebied') await areaTab(panel, cfg, area);
    else if (tab === 'zones') await zonesTab(panel, cfg, area);
    else if (tab === 'categorieen') await categoriesTab(panel, area);
    else if (tab === 'registers') await registersTab(panel, cfg, area);
    else if (tab === 'mensen') await peopleTab(panel, area);
    else if (tab === 'privacy') await privacyTab(panel, area);
    else await logTab(panel, area);
    setState('idle');
  } catch (e) {
    pageFailed(root, e);
  }
}

start();
