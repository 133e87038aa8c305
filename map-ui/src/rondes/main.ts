// The beveiliger's rounds for the werkgroep: a week against the agreed rounds
// (`/rondes/?area=…&week=2026-W48`), and the round report of one patrol
// (`/rondes/?patrol=…`) with its route on the map. Both print on A4.
import './rondes.css';
import { api, type Area, type Checkpoint, type Compliance, type PatrolReport, type Round, type UiConfig } from '../api';
import { DAY, iso, parseDay, today } from '../days';
import { el, replace } from '../dom';
import { pageFailed } from '../page';
import { fmtDate, fmtNum, lang } from '../i18n';
import { bounds, createMap } from '../map';
import { r } from './texts';

const root = document.getElementById('app')!;
const params = new URLSearchParams(location.search);

/** Readiness for people and tests: `loading`, then `idle` once everything is drawn. */
function setState(state: 'loading' | 'idle' | 'error' | 'signin') {
  document.body.dataset.state = state;
}

function link(p: Record<string, string>): string {
  const q = new URLSearchParams(p);
  if (lang === 'en') q.set('lang', 'en');
  return `/rondes/?${q}`;
}

// ---------------------------------------------------------------- ISO weeks

/** The Monday of ISO week `label` (`2026-W48`), or null. */
export function mondayOf(label: string): Date | null {
  const m = /^(\d{4})-W(\d{2})$/.exec(label);
  if (!m) return null;
  const jan4 = new Date(Date.UTC(Number(m[1]), 0, 4));
  const week1 = jan4.getTime() - ((jan4.getUTCDay() + 6) % 7) * DAY;
  return new Date(week1 + (Number(m[2]) - 1) * 7 * DAY);
}

/** The ISO week label of a date. */
export function weekOf(d: Date): string {
  const thursday = new Date(d.getTime() + (3 - ((d.getUTCDay() + 6) % 7)) * DAY);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY));
  return `${year}-W${String(week).padStart(2, '0')}`;
}

/** Yesterday in the Netherlands: the last night that is over. */
function lastNight(): Date {
  return new Date(today().getTime() - DAY);
}

const dayName = (s: string) =>
  parseDay(s).toLocaleDateString(lang === 'en' ? 'en-GB' : 'nl-NL', { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' });
const hhmm = (t: string) => t.slice(0, 5);
const clock = (at: string) =>
  new Date(at).toLocaleTimeString(lang === 'en' ? 'en-GB' : 'nl-NL', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Amsterdam' });
const pct = (x: number) => `${fmtNum(x * 100)}%`;

// ---------------------------------------------------------------- the week

async function week(areaId: string) {
  const last = lastNight();
  const label = params.get('week') ?? weekOf(last);
  const monday = mondayOf(label) ?? mondayOf(weekOf(last))!;
  const sunday = new Date(monday.getTime() + 6 * DAY);
  const to = sunday > last ? last : sunday;
  const [area, compliance, checkpoints] = await Promise.all([
    api<Area>(`/areas/${areaId}`),
    to < monday ? null : api<Compliance>(`/areas/${areaId}/rounds/compliance?from=${iso(monday)}&to=${iso(to)}`),
    api<Checkpoint[]>(`/areas/${areaId}/checkpoints?archived=true`),
  ]);
  const name = (id: string) => checkpoints.find((c) => c.id === id)?.name ?? id.slice(0, 8);
  const shift = (weeks: number) => link({ area: areaId, week: weekOf(new Date(monday.getTime() + weeks * 7 * DAY)) });
  const roundItem = (x: Round) => el('li', {},
    el('a', { href: link({ patrol: x.patrol_id }) }, `${clock(x.started_at)}–${clock(x.finished_at)}`),
    ` · ${r('status')[x.status] ?? x.status}`,
    x.checkpoints_missed.length ? ` (${r('missed').toLowerCase()}: ${x.checkpoints_missed.map(name).join(', ')})` : '');
  const agreements = compliance?.agreements ?? [];
  replace(root, el('article', { class: 'rondes' },
    el('header', {},
      el('h1', {}, `${r('title')}: ${area.name}`),
      el('p', { class: 'period' }, `${r('week')} ${label.slice(-2).replace(/^0/, '')} · ${dayName(iso(monday))} – ${dayName(iso(sunday))}`),
      el('nav', { class: 'no-print' },
        el('a', { href: shift(-1), id: 'prev-week' }, `← ${r('prevWeek')}`),
        sunday < last ? el('a', { href: shift(1), id: 'next-week' }, `${r('nextWeek')} →`) : null,
        el('button', { type: 'button', onclick: () => window.print() }, r('print')),
        el('a', { href: `/?area=${areaId}${lang === 'en' ? '&lang=en' : ''}` }, r('backToMap')))),
    agreements.length ? null : el('p', {}, r('noAgreement')),
    ...agreements.map((a) => {
      const w = a.weeks.reduce((s, x) => ({ walked: s.walked + x.rounds_walked, required: s.required + x.rounds_required,
        met: s.met + x.nights_met, nights: s.nights + x.nights }), { walked: 0, required: 0, met: 0, nights: 0 });
      const t = a.agreement;
      return el('section', { class: 'agreement' },
        el('h2', {}, t.name),
        el('p', {}, r('agreementLine')(t.rounds, hhmm(t.window_start), hhmm(t.window_end), t.checkpoints.length)),
        el('p', { class: 'summary' }, r('weekLine')(w.walked, w.required, pct(w.walked / Math.max(1, w.required)), w.met, w.nights)),
        el('table', { class: 'nights' },
          el('thead', {}, el('tr', {}, ...[r('night'), r('walked'), r('short'), r('late'), r('met'), r('neverHit'), r('rounds')]
            .map((h, i) => el('th', { class: i > 0 && i < 4 ? 'num' : undefined }, h)))),
          el('tbody', {}, ...a.nights.map((n) => el('tr', { class: n.met ? 'met' : 'unmet' },
            el('td', {}, dayName(n.date)),
            el('td', { class: 'num' }, `${n.walked} / ${n.required}`),
            el('td', { class: 'num' }, n.short || ''),
            el('td', { class: 'num' }, n.late || ''),
            el('td', {}, n.met ? `✓ ${r('yes')}` : `✗ ${r('no')}`),
            el('td', {}, n.checkpoints_never_hit.map(name).join(', ')),
            el('td', {}, el('ul', { class: 'rounds' }, ...n.rounds.map(roundItem))))))),
        a.outside_window.length
          ? el('div', {}, el('h3', {}, r('outside')), el('ul', { class: 'rounds' }, ...a.outside_window.map(roundItem)))
          : null);
    })));
  setState('idle');
}

// ---------------------------------------------------------------- one patrol

async function patrol(id: string) {
  const rep = await api<PatrolReport>(`/patrols/${id}/report`);
  const areaId = rep.patrol.area_id;
  const [cfg, area, checkpoints] = await Promise.all([
    api<UiConfig>('/ui-config'), api<Area>(`/areas/${areaId}`), api<Checkpoint[]>(`/areas/${areaId}/checkpoints?archived=true`),
  ]);
  const started = new Date(rep.patrol.started_at);
  const nightOf = new Date(started.getTime() - 12 * 3_600_000);
  const mapBox = el('div', { id: 'patrol-map', role: 'img', 'aria-label': r('mapLabel') });
  const hit = new Set(rep.checkpoints_hit.map((c) => c.id));
  const expected = [...rep.checkpoints_hit, ...rep.checkpoints_missed].map((c) => c.id);
  replace(root, el('article', { class: 'rondes report' },
    el('header', {},
      el('h1', {}, `${r('report')}: ${area.name}`),
      el('p', { class: 'period' }, fmtDate(rep.patrol.started_at)),
      el('nav', { class: 'no-print' },
        el('button', { type: 'button', onclick: () => window.print() }, r('print')),
        el('a', { href: link({ area: areaId, week: weekOf(parseDay(iso(nightOf))) }) }, r('backToWeek')))),
    el('dl', { class: 'facts' },
      el('dt', {}, r('guard')), el('dd', {}, rep.guard_name),
      el('dt', {}, r('started')), el('dd', {}, fmtDate(rep.patrol.started_at)),
      el('dt', {}, r('ended')), el('dd', {}, rep.patrol.ended_at ? fmtDate(rep.patrol.ended_at) : r('underway')),
      el('dt', {}, r('duration')), el('dd', { id: 'duration' }, `${fmtNum(rep.duration_s / 60)} ${r('minutes')}`),
      el('dt', {}, r('distance')), el('dd', { id: 'distance' }, `${fmtNum(rep.distance_m / 1000, 2)} km`),
      el('dt', {}, r('agreement')), el('dd', {}, rep.agreement?.name ?? r('none')),
      el('dt', {}, r('hit')), el('dd', { id: 'hit' }, `${rep.checkpoints_hit.length} / ${expected.length}`),
      el('dt', {}, r('missed')), el('dd', { id: 'missed' }, rep.checkpoints_missed.map((c) => c.name).join(', ') || '–')),
    el('section', { class: 'map' }, mapBox),
    el('section', {}, el('h2', {}, r('scans')),
      rep.scans.length
        ? el('table', { class: 'scans' },
          el('thead', {}, el('tr', {}, el('th', {}, r('time')), el('th', {}, r('checkpoint')), el('th', { class: 'num' }, r('distanceToPoint')), el('th', {}, r('flags')))),
          el('tbody', {}, ...rep.scans.map((s) => el('tr', { class: s.far || s.outside_patrol ? 'flagged' : undefined },
            el('td', {}, clock(s.scanned_at)), el('td', {}, s.checkpoint_name), el('td', { class: 'num' }, `${fmtNum(s.distance_m)} m`),
            el('td', {}, [s.far ? r('far') : '', s.outside_patrol ? r('outsidePatrol') : ''].filter(Boolean).join(', '))))))
        : el('p', {}, r('noScans'))),
    el('section', {}, el('h2', {}, r('findings')),
      rep.findings.length
        ? el('ul', { class: 'findings' }, ...rep.findings.map((f) => el('li', {},
          el('strong', {}, f.category), ` · ${clock(f.occurred_at)}`, f.description ? ` · ${f.description}` : '',
          ...f.photo_ids.map((p) => el('img', { src: `/api/v1/incidents/${f.incident_id}/photos/${p}/thumbnail`, alt: r('photo'), loading: 'eager' })))))
        : el('p', {}, r('noFindings')))));

  const map = createMap(mapBox, cfg, area, { print: true });
  map.once('load', () => {
    const route = rep.patrol.route as unknown as GeoJSON.LineString | null;
    const points = checkpoints.filter((c) => expected.includes(c.id) || rep.scans.some((s) => s.checkpoint_id === c.id));
    map.addSource('route', { type: 'geojson', data: { type: 'FeatureCollection', features: route ? [{ type: 'Feature', geometry: route, properties: {} }] : [] } });
    map.addSource('checkpoints', { type: 'geojson', data: { type: 'FeatureCollection', features: points.map((c) => ({
      type: 'Feature', geometry: { type: 'Point', coordinates: [c.lon, c.lat] }, properties: { name: c.name, hit: hit.has(c.id) } })) } });
    map.addSource('findings', { type: 'geojson', data: { type: 'FeatureCollection', features: rep.findings.map((f) => ({
      type: 'Feature', geometry: { type: 'Point', coordinates: [f.lon, f.lat] }, properties: { category: f.category } })) } });
    map.addLayer({ id: 'route', type: 'line', source: 'route', paint: { 'line-color': '#0057a3', 'line-width': 4 } });
    map.addLayer({ id: 'checkpoints', type: 'circle', source: 'checkpoints', paint: {
      'circle-radius': 8, 'circle-stroke-width': 2, 'circle-stroke-color': '#ffffff',
      'circle-color': ['case', ['get', 'hit'], '#009e73', '#d55e00'] } });
    map.addLayer({ id: 'findings', type: 'circle', source: 'findings', paint: { 'circle-radius': 6, 'circle-color': '#cc79a7', 'circle-stroke-width': 2, 'circle-stroke-color': '#1a1a1a' } });
    if (route && route.coordinates.length > 1) map.fitBounds(bounds(route as GeoJSON.Geometry), { padding: 40, animate: false });
    (window as unknown as { kvoMap: unknown }).kvoMap = map;
    map.once('idle', () => {
      document.body.dataset.routePoints = String(route?.coordinates.length ?? 0);
      setState('idle');
    });
  });
}

// ---------------------------------------------------------------- start

async function start() {
  setState('loading');
  try {
    const id = params.get('patrol');
    if (id) { await patrol(id); return; }
    const area = params.get('area') ?? (await api<{ memberships: { area_id: string; role: string }[] }>('/me'))
      .memberships.find((m) => m.role !== 'ondernemer')?.area_id;
    if (!area) { location.replace('/melden/'); return; }
    await week(area);
  } catch (e) {
    pageFailed(root, e);
  }
}

start();
