// The public view (`/openbaar/?gebied=<slug>`): an area's published figures
// for residents, press and the gemeenteraad, without signing in — the last
// 52 weeks against the 52 before, per theme and schoon/heel/veilig, the
// weekly trend and the heatmap; counts below 3 are not shown and there are
// no reports, texts, photos or names (the server decides, docs/privacy.md).
import '../beheer/beheer.css';
import './openbaar.css';
import { api, type Area, type S, type UiConfig } from '../api';
import { el, replace } from '../dom';
import { pageFailed } from '../page';
import { DIMENSION, THEME, fmtNum, label, lang, translator } from '../i18n';
import { bounds, createMap, VIRIDIS } from '../map';

type PublicView = S['PublicView'];

const w = translator({
  title: 'Openbaar overzicht', year: 'Afgelopen 52 weken', before: '52 weken daarvoor', theme: 'Thema', dimension: 'Schoon, heel, veilig',
  change: 'Verandering', total: (n: string, before: string) => `${n} meldingen (de 52 weken daarvoor: ${before})`,
  weeks: 'Meldingen per week', mapLabel: 'Kaart: waar meldingen gedaan zijn, in vakken van ongeveer 170 meter',
  hidden: 'Aantallen onder de 3 worden niet getoond (–). Dit overzicht bevat geen meldingen, teksten, foto\'s of namen.',
  none: 'Geen gebied', noTheme: 'Overig', categories: 'Per categorie', category: 'Categorie',
}, {
  title: 'Public overview', year: 'Last 52 weeks', before: 'The 52 weeks before', theme: 'Theme', dimension: 'Clean, intact, safe',
  change: 'Change', total: (n: string, before: string) => `${n} reports (the 52 weeks before: ${before})`,
  weeks: 'Reports per week', mapLabel: 'Map: where reports were made, in cells of about 170 metres',
  hidden: 'Counts below 3 are not shown (–). This overview holds no reports, texts, photos or names.',
  none: 'No area', noTheme: 'Other', categories: 'Per category', category: 'Category',
});

const root = document.getElementById('app')!;
const num = (n: number | null | undefined) => (n === null || n === undefined ? '–' : fmtNum(n));
const pct = (p: number | null | undefined) => (p === null || p === undefined ? '–' : `${p > 0 ? '+' : ''}${fmtNum(p, 1)}%`);

async function start() {
  document.body.dataset.state = 'loading';
  try {
    const slug = new URLSearchParams(location.search).get('gebied') ?? '';
    const [view, cfg] = await Promise.all([api<PublicView>(`/public/${encodeURIComponent(slug)}`), api<UiConfig>('/ui-config')]);
    const a = view.analysis;
    const cells = view.heatmap as unknown as GeoJSON.FeatureCollection;
    document.body.dataset.total = String(a.totals.current ?? '');
    document.body.dataset.cells = String(cells.features.length);
    document.title = `${view.name} — ${w('title')}`;
    const weeks = a.weekly ?? [];
    const top = Math.max(1, ...weeks.map((x) => x.count ?? 0));
    const mapBox = el('div', { id: 'public-map', role: 'region', 'aria-label': w('mapLabel') });
    replace(root, el('main', { class: 'beheer openbaar' },
      el('header', {}, el('h1', {}, `${view.name}${view.municipality ? `, ${view.municipality}` : ''}`), el('span', {}, w('title'))),
      el('p', { class: 'total' }, w('total')(num(a.totals.current), num(a.totals.comparison))),
      el('table', { class: 'themes' },
        el('caption', {}, `${w('year')} · ${a.period.from} – ${a.period.to}`),
        el('thead', {}, el('tr', {}, ...[w('theme'), w('dimension'), w('year'), w('before'), w('change')].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...a.by_theme.map((r) => el('tr', {},
          el('td', {}, r.theme ? label(THEME, r.theme) : w('noTheme')), el('td', {}, r.dimension ? label(DIMENSION, r.dimension) : '–'),
          el('td', { class: 'num' }, num(r.current)), el('td', { class: 'num' }, num(r.comparison)), el('td', { class: 'num' }, pct(r.change_pct)))))),
      el('table', { class: 'categories' },
        el('caption', {}, w('categories')),
        el('thead', {}, el('tr', {}, ...[w('category'), w('year'), w('before'), w('change')].map((h) => el('th', { scope: 'col' }, h)))),
        el('tbody', {}, ...view.categories.map((c) => el('tr', { 'data-code': c.code },
          el('td', {}, lang === 'en' ? c.label_en : c.label_nl),
          el('td', { class: 'num' }, num(c.current)), el('td', { class: 'num' }, num(c.comparison)), el('td', { class: 'num' }, pct(c.change_pct)))))),
      el('h2', {}, w('weeks')),
      el('div', { class: 'weeks', role: 'img', 'aria-label': `${w('weeks')}: ${weeks.map((x) => num(x.count)).join(', ')}` },
        ...weeks.map((x) => el('span', { style: `height: ${((x.count ?? 0) / top) * 100}%`, title: `${x.week_start}: ${num(x.count)}` }))),
      mapBox,
      el('p', { class: 'note' }, w('hidden'))));
    const all = { type: 'MultiPoint', coordinates: cells.features.flatMap((f) => (f.geometry as GeoJSON.Polygon).coordinates[0]) } as GeoJSON.MultiPoint;
    const box = all.coordinates.length ? bounds(all as unknown as GeoJSON.Geometry) : [[3.3, 50.75], [7.2, 53.55]];
    const frame = { id: '', name: '', kind: 'kvo_w', municipality: null, zones: [],
      boundary: { type: 'Polygon', coordinates: [[box[0], [box[1][0], box[0][1]], box[1], [box[0][0], box[1][1]], box[0]]] } } as unknown as Area;
    const map = createMap(mapBox, cfg, frame);
    map.once('load', () => {
      map.setLayoutProperty('boundary-line', 'visibility', 'none');
      const max = Math.max(3, ...cells.features.map((f) => Number(f.properties?.count ?? 0)));
      map.addSource('public', { type: 'geojson', data: cells });
      map.addLayer({ id: 'public-cells', type: 'fill', source: 'public', paint: {
        'fill-color': ['interpolate', ['linear'], ['get', 'count'], 3, VIRIDIS[0], max * 0.25 + 3, VIRIDIS[1], max * 0.5 + 3, VIRIDIS[2], max * 0.75 + 3, VIRIDIS[3], max + 3, VIRIDIS[4]],
        'fill-opacity': 0.75 } });
      map.once('idle', () => { document.body.dataset.state = 'idle'; });
    });
    if (lang === 'en') document.documentElement.lang = 'en';
  } catch (e) {
    pageFailed(root, e);
  }
}

start();
