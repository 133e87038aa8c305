// The region view (`/regio/`): all of a person's areas together — one
// heatmap across them and a table of the areas with their trend and what is
// open, each a link into that area's map.
import '../beheer/beheer.css';
import './regio.css';
import { api, type Area, type S, type UiConfig } from '../api';
import { el, replace } from '../dom';
import { pageFailed } from '../page';
import { fmtNum, lang, translator } from '../i18n';
import { bounds, createMap, VIRIDIS } from '../map';

type Overview = S['RegionOverview'];

const w = translator({
  title: 'Alle gebieden', from: 'Van', to: 'Tot en met', apply: 'Toepassen', area: 'Gebied', role: 'Uw rol', now: 'Deze periode',
  before: 'Periode ervoor', change: 'Verandering', open: 'Open', overdue: 'Te laat', kinds: { kvo_w: 'KVO-W', kvo_b: 'KVO-B', buitengebied: 'Buitengebied' } as Record<string, string>,
  hidden: '–: te weinig om te tonen', mapLabel: 'Kaart met de meldingen van alle gebieden', toMap: 'Naar de kaart',
}, {
  title: 'All areas', from: 'From', to: 'To (inclusive)', apply: 'Apply', area: 'Area', role: 'Your role', now: 'This period',
  before: 'Period before', change: 'Change', open: 'Open', overdue: 'Overdue', kinds: { kvo_w: 'KVO-W', kvo_b: 'KVO-B', buitengebied: 'Rural' },
  hidden: '–: too few to show', mapLabel: 'Map of the reports of all areas', toMap: 'To the map',
});

const root = document.getElementById('app')!;
const params = new URLSearchParams(location.search);

async function start() {
  document.body.dataset.state = 'loading';
  try {
    const q = new URLSearchParams();
    for (const k of ['from', 'to']) { const v = params.get(k); if (v) q.set(k, v); }
    const [overview, cfg] = await Promise.all([api<Overview>(`/region/areas?${q}`), api<UiConfig>('/ui-config')]);
    const cells = await api<GeoJSON.FeatureCollection>(`/region/heatmap?${q}`);
    document.body.dataset.cells = String(cells.features.length);
    document.body.dataset.areas = String(overview.areas.length);
    const from = el('input', { type: 'date', name: 'from', value: overview.period.from });
    const to = el('input', { type: 'date', name: 'to', value: overview.period.to });
    const form = el('form', { class: 'filters', onsubmit: (e: Event) => {
      e.preventDefault();
      const n = new URLSearchParams({ from: from.value, to: to.value });
      if (lang === 'en') n.set('lang', 'en');
      location.assign(`/regio/?${n}`);
    } }, el('label', { class: 'field' }, el('span', {}, w('from')), from), el('label', { class: 'field' }, el('span', {}, w('to')), to),
      el('button', { type: 'submit' }, w('apply')));
    const num = (n: number | null | undefined) => (n === null || n === undefined ? '–' : fmtNum(n));
    const table = el('table', { class: 'region' },
      el('thead', {}, el('tr', {}, ...[w('area'), w('role'), w('now'), w('before'), w('change'), w('open'), w('overdue')].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...overview.areas.map((a) => el('tr', { 'data-area': a.area_id },
        el('td', {}, el('a', { href: `/?area=${a.area_id}${lang === 'en' ? '&lang=en' : ''}` }, a.name), ` (${w('kinds')[a.kind] ?? a.kind}${a.municipality ? `, ${a.municipality}` : ''})`),
        el('td', {}, a.role), el('td', { class: 'num' }, num(a.current)), el('td', { class: 'num' }, num(a.previous)),
        el('td', { class: 'num' }, a.change_pct === null || a.change_pct === undefined ? '–' : `${a.change_pct > 0 ? '+' : ''}${fmtNum(a.change_pct, 1)}%`),
        el('td', { class: 'num' }, num(a.open)), el('td', { class: `num${a.overdue ? ' late' : ''}` }, num(a.overdue))))));
    const mapBox = el('div', { id: 'region-map', role: 'region', 'aria-label': w('mapLabel') });
    replace(root, el('main', { class: 'beheer regio' },
      el('header', {}, el('h1', {}, w('title')), el('nav', {}, el('a', { href: `/${lang === 'en' ? '?lang=en' : ''}` }, w('toMap')))),
      form, mapBox, table, el('p', { class: 'note' }, w('hidden'))));
    // The map spans the cells (or nothing to show: the Netherlands).
    const all = { type: 'MultiPoint', coordinates: cells.features.flatMap((f) => (f.geometry as GeoJSON.Polygon).coordinates[0]) } as GeoJSON.MultiPoint;
    const box = all.coordinates.length ? bounds(all as unknown as GeoJSON.Geometry) : [[3.3, 50.75], [7.2, 53.55]];
    const frame = { id: '', name: '', kind: 'kvo_w', municipality: null, zones: [],
      boundary: { type: 'Polygon', coordinates: [[box[0], [box[1][0], box[0][1]], box[1], [box[0][0], box[1][1]], box[0]]] } } as unknown as Area;
    const map = createMap(mapBox, cfg, frame);
    (window as unknown as { kvoMap: unknown }).kvoMap = map;
    map.once('load', () => {
      map.setLayoutProperty('boundary-line', 'visibility', 'none');
      const max = Math.max(1, ...cells.features.map((f) => Number(f.properties?.count ?? 0)));
      map.addSource('region', { type: 'geojson', data: cells });
      map.addLayer({ id: 'region-cells', type: 'fill', source: 'region', paint: {
        'fill-color': ['interpolate', ['linear'], ['get', 'count'], 1, VIRIDIS[0], max * 0.25, VIRIDIS[1], max * 0.5, VIRIDIS[2], max * 0.75, VIRIDIS[3], max, VIRIDIS[4]],
        'fill-opacity': 0.75 } });
      map.once('idle', () => { document.body.dataset.state = 'idle'; });
    });
  } catch (e) {
    pageFailed(root, e);
  }
}

start();
