import './style.css';
import type { Map as MlMap } from 'maplibre-gl';
import { api, ApiError, type Analysis, type Area, type Asset, type CategoryInfo, type IncidentPage, type Me, type RepeatedAsset, type UiConfig } from './api';
import { el, replace } from './dom';
import { readUrl, writeUrl, urlFor, range, weeks, query, type Filters } from './filters';
import { t, setLang, lang, label, ASSET_KIND, STATUS, THEME, DIMENSION } from './i18n';
import { bounds, createMap, fitZoom, showAssets, showData, ASSET_COLOURS, VIRIDIS, STATUS_COLOURS } from './map';
import { renderAnalysis, renderOpen, repeatedList, trendChart, hotspotList, themeTable } from './panels';
import { assetPopup, incidentPopup, openFollowUp, openFollowUpById } from './incident';
import { openPushDialog, registerServiceWorker } from './push';
import { patrolPanel } from './patrol-layer';

const root = document.getElementById('app')!;
let filters: Filters = readUrl();
/** `?incident=<id>`: the link of a push notification opens that incident. */
const linkedIncident = new URLSearchParams(location.search).get('incident');
setLang(filters.lang);

interface Ctx { me: Me; cfg: UiConfig; area: Area; role: string; categories: CategoryInfo[]; map: MlMap | null }
let ctx: Ctx | null = null;
let seq = 0;
let panelSeq = 0;
/** Brings the week slider in line with the filters (set once the slider exists). */
let syncSlider: (() => void) | null = null;
let playing: number | null = null;
/** The rounds layers' panel, following the period (set once the map view exists). */
let patrols: ReturnType<typeof patrolPanel> | null = null;

/** Readiness for people and tests: `data-state` is `loading`, then `idle` once the map has drawn the data. */
function setState(state: 'loading' | 'idle' | 'error') {
  document.body.dataset.state = state;
  if (state === 'idle') document.body.dataset.renderSeq = String(seq);
}

async function boot() {
  registerServiceWorker();
  setState('loading');
  performance.mark('kvo-boot');
  const config = api<UiConfig>('/ui-config');
  const who = api<Me>('/me');
  // With the area in the URL (a shared link), fetch it at once too.
  if (filters.area && /^[0-9a-f-]{36}$/.test(filters.area)) early = areaRequests(filters.area);
  const cfg = await config;
  try {
    const me = await who;
    await start(me, cfg);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { early = null; signIn(cfg); }
    else fail(e);
  }
}

function fail(e: unknown) {
  setState('error');
  replace(root, el('p', { class: 'error', role: 'alert' }, `${t('error')}: ${e instanceof Error ? e.message : String(e)}`));
}

function signIn(cfg: UiConfig) {
  const email = el('input', { id: 'email', type: 'email', autocomplete: 'username', required: true });
  const password = el('input', { id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const message = el('p', { class: 'error', role: 'alert' });
  const form = el('form', { class: 'signin', 'aria-labelledby': 'signin-title' },
    el('h1', { id: 'signin-title' }, t('title')),
    el('label', { for: 'email' }, t('email')), email,
    el('label', { for: 'password' }, t('password')), password,
    el('button', { type: 'submit' }, t('signIn')), message,
    langButton());
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('/session', { method: 'POST', body: { email: email.value, password: password.value } });
      await start(await api<Me>('/me'), cfg);
    } catch (e) {
      message.textContent = `${t('signInFailed')}: ${e instanceof Error ? e.message : ''}`;
    }
  });
  replace(root, form);
  document.body.dataset.state = 'signin';
  email.focus();
}

function langButton() {
  return el('button', { type: 'button', class: 'link', lang: lang === 'nl' ? 'en' : 'nl', onclick: () => {
    filters.lang = lang === 'nl' ? 'en' : 'nl';
    writeUrl(filters);
    location.reload();
  } }, t('language'));
}

let early: { id: string; area: Promise<Area>; cats: Promise<{ categories: CategoryInfo[] }> } | null = null;

function areaRequests(id: string) {
  const r = { id, area: api<Area>(`/areas/${id}`), cats: api<{ categories: CategoryInfo[] }>(`/areas/${id}/categories`) };
  r.area.catch(() => {}); r.cats.catch(() => {}); // awaited below, or not needed
  return r;
}

async function start(me: Me, cfg: UiConfig) {
  const choices = me.memberships.filter((m) => m.role !== 'ondernemer');
  // Ondernemers report; the reporting app is theirs.
  if (!choices.length) { location.replace('/melden/'); return; }
  const chosen = choices.find((m) => m.area_id === filters.area) ?? choices[0];
  filters.area = chosen.area_id;
  writeUrl(filters);
  const requests = early?.id === chosen.area_id ? early : areaRequests(chosen.area_id);
  early = null;
  const [area, cats] = await Promise.all([requests.area, requests.cats]);
  ctx = { me, cfg, area, role: chosen.role, categories: cats.categories, map: null };
  if (filters.view === 'meeting') await meeting(ctx);
  else layout(ctx, choices);
}

// ---------------------------------------------------------------- the map view

function layout(c: Ctx, choices: Me['memberships']) {
  const areaSelect = el('select', { id: 'area', 'aria-label': t('area') },
    ...choices.map((m) => el('option', { value: m.area_id, selected: m.area_id === c.area.id }, m.area_name)),
    el('option', { value: 'alle' }, t('allAreas')));
  areaSelect.addEventListener('change', () => {
    if (areaSelect.value === 'alle') { location.assign(`/regio/${lang === 'en' ? '?lang=en' : ''}`); return; }
    filters.area = areaSelect.value; filters.week = null; writeUrl(filters, true); location.reload();
  });
  const mapBox = el('div', { id: 'map', role: 'region', 'aria-label': t('mapLabel') });
  const side = el('aside', { id: 'side', 'aria-label': t('filtersLabel') });
  const header = el('header', {},
    el('h1', {}, t('title')),
    choices.length > 1 ? areaSelect : el('span', { class: 'area-name' }, c.area.name),
    el('nav', {},
      el('a', { href: urlFor({ ...filters, view: 'meeting', week: null }), id: 'meeting-link' }, t('meeting')),
      el('a', { href: `/tabel/?area=${c.area.id}${lang === 'en' ? '&lang=en' : ''}`, id: 'table-link' }, t('table')),
      choices.some((m) => ['gemeente', 'politie', 'brandweer', 'beveiliger'].includes(m.role))
        ? el('a', { href: `/taken/${lang === 'en' ? '?lang=en' : ''}`, id: 'work-list-link' }, t('workList')) : null,
      choices.some((m) => m.role === 'beheerder')
        ? el('a', { href: `/beheer/?area=${c.area.id}${lang === 'en' ? '&lang=en' : ''}`, id: 'console-link' }, t('console')) : null,
      el('button', { type: 'button', id: 'notify', onclick: () => openPushDialog(c.area.id, c.categories) }, t('notifications')),
      langButton(),
      el('button', { type: 'button', onclick: async () => { await api('/session', { method: 'DELETE' }); location.reload(); } }, t('signOut'))));
  replace(root, header, el('main', {}, side, el('div', { class: 'map-wrap' }, mapBox, legend())));
  patrols = patrolPanel(() => c.map, c.area.id);
  side.append(filterForm(c), patrols.node, el('section', { id: 'analysis', 'aria-live': 'polite' }));
  // The first data is fetched while the map starts.
  const first = heatPath(c, fitZoom(bounds(c.area.boundary as unknown as GeoJSON.Geometry), mapBox.clientWidth, mapBox.clientHeight));
  prefetched = { key: first, data: api<GeoJSON.FeatureCollection>(first) };
  performance.mark('kvo-map-create');
  c.map = createMap(mapBox, c.cfg, c.area);
  performance.mark('kvo-map-created');
  (window as unknown as { kvoMap: MlMap }).kvoMap = c.map; // for the browser tests and the console
  c.map.on('click', 'incidents', (e) => {
    const id = e.features?.[0]?.properties?.id as string | undefined;
    if (id) incidentPopup(c.map!, e.lngLat, id, c.categories, (inc) => openFollowUp(inc, refresh));
  });
  c.map.on('mouseenter', 'incidents', () => { c.map!.getCanvas().style.cursor = 'pointer'; });
  c.map.on('mouseleave', 'incidents', () => { c.map!.getCanvas().style.cursor = ''; });
  c.map.once('load', () => {
    performance.mark('kvo-map-load');
    void refresh();
    // The register's assets, from street level on; the map works without them.
    api<Asset[]>(`/areas/${c.area.id}/assets`).then((a) => {
      if (!a.length) return;
      showAssets(c.map!, a, 15);
      document.querySelector<HTMLElement>('.assets-legend')!.hidden = false;
    }).catch((e) => console.warn('assets', e));
  });
  c.map.on('click', 'assets', (e) => {
    const p = e.features?.[0]?.properties as { kind: string; label: string; street?: string } | undefined;
    if (p && !c.map!.queryRenderedFeatures(e.point, { layers: c.map!.getLayer('incidents') ? ['incidents'] : [] }).length) assetPopup(c.map!, e.lngLat, p);
  });
  if (linkedIncident && /^[0-9a-f-]{36}$/.test(linkedIncident)) void openFollowUpById(linkedIncident, refresh).catch(fail);
  // Finer cells when zoomed in, coarser when zoomed out (the server decides; see heatPath).
  c.map.on('moveend', () => {
    if (document.body.dataset.heat && heatPath(c) !== document.body.dataset.heat) void refresh({ mapOnly: true });
  });
  window.addEventListener('popstate', () => { filters = readUrl(); void refresh(); });
}

function legend() {
  const ramp = el('div', { class: 'ramp', 'aria-hidden': 'true' }, ...VIRIDIS.map((c) => { const s = el('span'); s.style.background = c; return s; }));
  const box = el('section', { class: 'legend', 'aria-label': t('legend') },
    el('h2', {}, t('legend')),
    el('div', { class: 'ramp-row' }, el('span', {}, t('fewer')), ramp, el('span', {}, t('more'))),
    el('ul', {}, ...Object.keys(STATUS_COLOURS).map((s) => el('li', {}, el('span', { class: `dot status-${s}`, 'aria-hidden': 'true' }), label(STATUS, s)))),
    el('p', { class: 'small' }, el('span', { class: 'swatch boundary', 'aria-hidden': 'true' }), t('boundary'), ' · ',
      el('span', { class: 'swatch zone', 'aria-hidden': 'true' }), t('zones')),
    el('p', { class: 'small assets-legend', hidden: true }, `${t('assets')}: `, ...Object.entries(ASSET_COLOURS).map(([k, colour]) => {
      const dot = el('span', { class: 'swatch-box asset', 'aria-hidden': 'true' });
      dot.style.background = colour;
      return el('span', {}, dot, label(ASSET_KIND, k), ' ');
    })));
  return box;
}

function checkGroup(name: string, legendText: string, options: [string, string][], selected: string[]) {
  return el('fieldset', { class: 'checks' }, el('legend', {}, legendText),
    ...options.map(([value, text]) => el('label', {},
      el('input', { type: 'checkbox', name, value, checked: selected.includes(value) }), text)));
}

function filterForm(c: Ctx) {
  const periods: [string, string][] = [['4w', t('last4w')], ['quarter', t('quarter')], ['year', t('year')], ['baseline', t('baseline')], ['custom', t('custom')]];
  const period = el('select', { id: 'period', name: 'period' }, ...periods.map(([v, l]) => el('option', { value: v, selected: filters.period === v }, l)));
  const r = range(filters, c.area);
  const from = el('input', { type: 'date', id: 'from', name: 'from', value: r.from });
  const to = el('input', { type: 'date', id: 'to', name: 'to', value: r.to });
  const custom = el('div', { class: 'custom', hidden: filters.period !== 'custom' },
    el('label', { for: 'from' }, t('from')), from, el('label', { for: 'to' }, t('to')), to);
  const catOptions = c.categories.map((k): [string, string] => [k.code, lang === 'en' ? k.label_en : k.label_nl]);
  const form = el('form', { id: 'filters', class: 'filters' },
    el('h2', {}, t('filtersLabel')),
    el('label', { for: 'period' }, t('period')), period, custom,
    el('p', { class: 'count' }, el('strong', { id: 'total-count' }, '…'), ' ', t('incidents')),
    slider(c),
    checkGroup('dimension', t('dimensions'), Object.keys(DIMENSION).map((d) => [d, label(DIMENSION, d)]), filters.dimensions),
    checkGroup('theme', t('themes'), Object.keys(THEME).map((d) => [d, label(THEME, d)]), filters.themes),
    checkGroup('status', t('statuses'), Object.keys(STATUS).map((d) => [d, label(STATUS, d)]), filters.statuses),
    el('details', {}, el('summary', {}, t('categories')), checkGroup('category', t('categories'), catOptions, filters.categories)));
  form.addEventListener('change', () => {
    const data = new FormData(form);
    const prevPeriod = filters.period;
    filters.period = data.get('period') as Filters['period'];
    custom.hidden = filters.period !== 'custom';
    if (filters.period === 'custom') { filters.from = from.value; filters.to = to.value; }
    filters.categories = data.getAll('category') as string[];
    filters.themes = data.getAll('theme') as string[];
    filters.dimensions = data.getAll('dimension') as string[];
    filters.statuses = data.getAll('status') as string[];
    if (prevPeriod !== filters.period) {
      filters.week = null;
      const nr = range(filters, c.area); from.value = nr.from; to.value = nr.to;
    }
    writeUrl(filters, true);
    void refresh();
  });
  form.addEventListener('submit', (e) => e.preventDefault());
  return form;
}

function slider(c: Ctx) {
  const input = el('input', { type: 'range', id: 'week', min: 0, value: 0, step: 1, 'aria-label': t('week') });
  const out = el('output', { for: 'week', id: 'week-label' });
  const play = el('button', { type: 'button', id: 'play', 'aria-pressed': 'false' }, t('play'));
  const sync = () => {
    const ws = weeks(range(filters, c.area));
    input.max = String(ws.length);
    input.value = String(filters.week === null || filters.week >= ws.length ? ws.length : filters.week);
    out.textContent = filters.week === null || filters.week >= ws.length ? t('allWeeks') : `${t('week')} ${ws[filters.week].from} – ${ws[filters.week].to}`;
  };
  input.addEventListener('input', (e) => {
    e.stopPropagation();
    const ws = weeks(range(filters, c.area));
    const v = Number(input.value);
    filters.week = v >= ws.length ? null : v;
    writeUrl(filters);
    sync();
    void refresh({ mapOnly: true });
  });
  input.addEventListener('change', (e) => e.stopPropagation());
  play.addEventListener('click', () => {
    if (playing !== null) { stop(); return; }
    play.textContent = t('pause'); play.setAttribute('aria-pressed', 'true');
    const ws = weeks(range(filters, c.area));
    let i = filters.week === null || filters.week >= ws.length - 1 ? 0 : filters.week + 1;
    const step = () => {
      filters.week = i; writeUrl(filters); sync();
      void refresh({ mapOnly: true }).then(() => {
        i += 1;
        if (playing === null) return;
        if (i >= ws.length) { stop(); return; }
        playing = window.setTimeout(step, 1200);
      });
    };
    playing = window.setTimeout(step, 0);
  });
  const stop = () => {
    if (playing !== null) window.clearTimeout(playing);
    playing = null; play.textContent = t('play'); play.setAttribute('aria-pressed', 'false');
  };
  sync();
  syncSlider = sync;
  return el('div', { class: 'slider' }, el('label', { for: 'week' }, t('week')), input, out, play);
}

/** What the analysis panel compares with (the panel's own choice). */
let comparing: 'previous' | 'baseline' = 'previous';
let prefetched: { key: string; data: Promise<GeoJSON.FeatureCollection> } | null = null;

/** The filter query of what the map shows: the filters, and the slider's week if one is chosen. */
function shownQuery(c: Ctx): URLSearchParams {
  const ws = weeks(range(filters, c.area));
  const only = filters.week !== null && filters.week < ws.length ? ws[filters.week] : undefined;
  return query(filters, c.area, only);
}

/** The heatmap request's path for what the map shows, at `zoom`. The server
 * chooses the cells' size; the map sends its zoom as the highest of the
 * server's breaks at or below it, so it asks again only when the answer may change. */
function heatPath(c: Ctx, zoom = c.map?.getZoom() ?? 15): string {
  const q = shownQuery(c);
  const step = c.cfg.heat_zoom_breaks.filter((b) => b <= zoom).pop() ?? 0;
  q.set('shape', 'points'); q.set('zoom', String(step));
  return `/areas/${c.area.id}/heatmap?${q}`;
}

async function refresh(opts: { mapOnly?: boolean } = {}) {
  const c = ctx;
  if (!c || !c.map) return;
  const mine = ++seq;
  setState('loading');
  syncSlider?.();
  // The meeting view of what is shown now.
  document.getElementById('meeting-link')?.setAttribute('href', urlFor({ ...filters, view: 'meeting', week: null }));
  try {
    const q = shownQuery(c);
    const path = heatPath(c);
    document.body.dataset.heat = path; // what the map shows (also for the tests)
    const heat = prefetched && prefetched.key === path ? prefetched.data : api<GeoJSON.FeatureCollection>(path);
    prefetched = null;
    const analyse = (compare: 'previous' | 'baseline') =>
      api<Analysis>(`/areas/${c.area.id}/analysis?${query(filters, c.area)}${compare === 'baseline' ? '&compare=baseline' : ''}`);
    const analysis = opts.mapOnly ? null : analyse(comparing);
    const open = opts.mapOnly ? null : api<IncidentPage>(`/incidents?area_id=${c.area.id}&status=nieuw,in_behandeling,heropend&limit=25`);
    const shown = range(filters, c.area);
    // Six months up to the end of the period; not for the roles that see no single reports (403).
    const repeated = opts.mapOnly ? null : api<RepeatedAsset[]>(`/areas/${c.area.id}/assets/repeated?to=${shown.to}`).catch(() => null);
    patrols?.update(shown.from, shown.to);
    const fc = await heat;
    performance.mark('kvo-heat-data');
    if (mine !== seq) return;
    const total = fc.features.reduce((s, f) => s + Number(f.properties?.count ?? 0), 0);
    document.getElementById('total-count')!.textContent = total.toLocaleString(lang === 'en' ? 'en-GB' : 'nl-NL');
    showData(c.map, c.area.id, fc, q.toString(), c.role !== 'ondernemer');
    if (analysis && open) {
      // The panels follow when their answers come; the map does not wait for them.
      const minePanels = ++panelSeq;
      Promise.all([analysis, open, repeated]).then(([a, o, r]) => {
        if (minePanels !== panelSeq) return;
        const box = document.getElementById('analysis')!;
        const flyTo = (lon: number, lat: number) => c.map!.flyTo({ center: [lon, lat], zoom: 17 });
        const openList = renderOpen(o, c.categories, refresh);
        const show = (x: Analysis) => {
          replace(box, renderAnalysis(x, flyTo, { compare: comparing, hasBaseline: !!c.area.baseline_from, change: async (v) => {
            comparing = v;
            document.body.dataset.panels = 'loading';
            show(await analyse(v));
          } }), r ? repeatedList(r, flyTo) : null, openList);
          document.body.dataset.panels = 'ready';
        };
        show(a);
      }).catch((e) => {
        const box = document.getElementById('analysis');
        if (box) replace(box, el('p', { class: 'error', role: 'alert' }, `${t('error')}: ${e instanceof Error ? e.message : String(e)}`));
      });
    }
    // Drawn: the map is idle after the new data (a repaint makes sure it gets there).
    await new Promise<void>((resolve) => {
      c.map!.once('idle', () => resolve());
      c.map!.triggerRepaint();
    });
    performance.mark('kvo-idle');
    if (mine === seq) setState('idle');
  } catch (e) {
    if (mine === seq) {
      setState('error');
      const box = document.getElementById('analysis');
      if (box) replace(box, el('p', { class: 'error', role: 'alert' }, `${t('error')}: ${e instanceof Error ? e.message : String(e)}`));
    }
  }
}

// ------------------------------------------------------------ the meeting view

async function meeting(c: Ctx) {
  const r = range(filters, c.area);
  const q = query(filters, c.area);
  const [a, open, heat] = await Promise.all([
    api<Analysis>(`/areas/${c.area.id}/analysis?${q}`),
    api<IncidentPage>(`/incidents?area_id=${c.area.id}&status=nieuw,in_behandeling,heropend&limit=20`),
    api<GeoJSON.FeatureCollection>(`/areas/${c.area.id}/heatmap?${q}&shape=points`),
  ]);
  const backUrl = urlFor({ ...filters, view: 'map' });
  const mapBox = el('div', { id: 'meeting-map', role: 'img', 'aria-label': t('mapLabel') });
  const catLabel = (code: string) => { const k = c.categories.find((x) => x.code === code); return k ? (lang === 'en' ? k.label_en : k.label_nl) : code; };
  replace(root, el('article', { class: 'meeting' },
    el('header', {}, el('h1', {}, `${t('meeting')}: ${c.area.name}`),
      el('p', {}, `${t('period')}: ${r.from} – ${r.to} · ${t('total')}: ${a.totals.current ?? '–'} ${t('incidents')}`),
      el('nav', { class: 'no-print' }, el('button', { type: 'button', onclick: () => window.print() }, t('print')), ' ', el('a', { href: backUrl }, t('back')))),
    el('section', { class: 'm-map' }, mapBox),
    el('section', { class: 'm-hotspots' }, el('h2', {}, t('hotspots')), hotspotList(a, null)),
    el('section', { class: 'm-trend' }, el('h2', {}, t('trend')), trendChart(a)),
    el('section', { class: 'm-themes' }, el('h2', {}, t('analysis')), themeTable(a)),
    el('section', { class: 'm-open' }, el('h2', {}, t('openItems')),
      el('ol', {}, ...open.items.map((i) => el('li', {}, `${catLabel(i.category)} · ${label(STATUS, i.status)} · ${new Date(i.occurred_at).toLocaleDateString(lang === 'en' ? 'en-GB' : 'nl-NL')}`))))));
  const map = createMap(mapBox, c.cfg, c.area, { print: true });
  map.once('load', () => {
    showData(map, c.area.id, heat, q.toString(), false);
    map.once('idle', () => setState('idle'));
  });
}

window.addEventListener('unhandledrejection', (e) => console.warn(e.reason));
boot().catch(fail);
