// The rounds on the werkgroep's map: the routes of the period with the
// checkpoints coloured by hit rate, and coverage against risk — per cell,
// incidents that no patrol reached stand out. Off by default; the server
// computes coverage from its rollup (not from raw rows).
import type { GeoJSONSource, Map as MlMap } from 'maplibre-gl';
import { api, type CheckpointHits } from './api';
import { DAY, shiftDay } from './days';
import { el } from './dom';
import { translator } from './i18n';

const t = translator({
  title: 'Rondes', routes: 'Routes en controlepunten', coverage: 'Dekking: meldingen tegenover rondes',
  band: 'Dagdeel', wholeDay: 'Hele dag', nacht: 'Nacht (0–6)', ochtend: 'Ochtend (6–12)', middag: 'Middag (12–18)', avond: 'Avond (18–24)',
  unreached: 'meldingen, geen ronde langs', covered: 'meldingen en rondes', passesOnly: 'alleen rondes',
  hitRate: 'controlepunt: bezocht op', week: 'Rondes per week', lastDays: (n: number) => `routes van de laatste ${n} dagen van de periode`,
  summary: (unreached: number, total: number) => `${unreached} van ${total} meldingen in cellen waar geen ronde langskwam`,
}, {
  title: 'Rounds', routes: 'Routes and checkpoints', coverage: 'Coverage: reports against rounds',
  band: 'Part of day', wholeDay: 'Whole day', nacht: 'Night (0–6)', ochtend: 'Morning (6–12)', middag: 'Afternoon (12–18)', avond: 'Evening (18–24)',
  unreached: 'reports, no round passed', covered: 'reports and rounds', passesOnly: 'rounds only',
  hitRate: 'checkpoint: visited on', week: 'Rounds per week', lastDays: (n: number) => `routes of the last ${n} days of the period`,
  summary: (unreached: number, total: number) => `${unreached} of ${total} reports in cells no round passed`,
});

const later = (a: string, b: string) => (a > b ? a : b);

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

function ensureLayers(map: MlMap) {
  if (map.getSource('coverage')) return;
  map.addSource('coverage', { type: 'geojson', data: EMPTY });
  map.addSource('routes', { type: 'geojson', data: EMPTY });
  map.addSource('checkpoints', { type: 'geojson', data: EMPTY });
  map.addLayer({ id: 'coverage', type: 'fill', source: 'coverage', paint: {
    'fill-color': ['case', ['get', 'unreached'], '#d55e00', ['>', ['get', 'incidents'], 0], '#0072b2', '#56b4e9'],
    'fill-opacity': ['case', ['get', 'unreached'], 0.6, ['>', ['get', 'incidents'], 0], 0.4, 0.15],
    'fill-outline-color': '#ffffff' } });
  map.addLayer({ id: 'routes', type: 'line', source: 'routes', paint: { 'line-color': '#0057a3', 'line-width': 2, 'line-opacity': 0.35 } });
  map.addLayer({ id: 'checkpoints', type: 'circle', source: 'checkpoints', paint: {
    'circle-radius': 7, 'circle-stroke-width': 2, 'circle-stroke-color': '#1a1a1a',
    'circle-color': ['case', ['>=', ['get', 'hit_rate'], 0.9], '#009e73', ['>=', ['get', 'hit_rate'], 0.6], '#e69f00', '#d55e00'] } });
}

/** The panel with its two switches; `update` follows the map's period. */
export function patrolPanel(map: () => MlMap | null, areaId: string): { node: HTMLElement; update: (from: string, to: string) => void } {
  const routes = el('input', { type: 'checkbox', id: 'layer-routes' });
  const coverage = el('input', { type: 'checkbox', id: 'layer-coverage' });
  const band = el('select', { id: 'coverage-band', 'aria-label': t('band') },
    el('option', { value: '' }, t('wholeDay')), ...(['nacht', 'ochtend', 'middag', 'avond'] as const).map((b) => el('option', { value: b }, t(b))));
  const status = el('p', { class: 'small', id: 'patrol-status', 'aria-live': 'polite' });
  let period = { from: '', to: '' };
  let seq = 0;

  const draw = async () => {
    const m = map();
    if (!m || !period.to) return;
    const mine = ++seq;
    document.body.dataset.patrolLayer = 'loading';
    ensureLayers(m);
    const set = (id: string, fc: GeoJSON.FeatureCollection) => (m.getSource(id) as GeoJSONSource).setData(fc);
    const routesFrom = later(period.from, shiftDay(period.to, -30));
    const [r, hits, cov] = await Promise.all([
      routes.checked ? api<GeoJSON.FeatureCollection>(`/areas/${areaId}/patrols?from=${routesFrom}&to=${period.to}`) : EMPTY,
      routes.checked ? api<CheckpointHits[]>(`/areas/${areaId}/checkpoints/hits?from=${period.from}&to=${period.to}`) : [],
      coverage.checked
        ? api<GeoJSON.FeatureCollection & { incidents?: number; incidents_unreached?: number }>(
          `/areas/${areaId}/coverage?from=${later(period.from, shiftDay(period.to, -365))}&to=${period.to}${band.value ? `&band=${band.value}` : ''}`)
        : EMPTY,
    ]);
    if (mine !== seq) return;
    set('routes', r);
    set('checkpoints', { type: 'FeatureCollection', features: hits.map((h) => ({ type: 'Feature',
      geometry: { type: 'Point', coordinates: [h.checkpoint.lon, h.checkpoint.lat] },
      properties: { name: h.checkpoint.name, hit_rate: h.hit_rate } })) });
    set('coverage', cov);
    const covMeta = cov as { incidents?: number; incidents_unreached?: number };
    status.textContent = [
      routes.checked ? t('lastDays')(Math.round((new Date(period.to).getTime() - new Date(routesFrom).getTime()) / DAY) + 1) : '',
      coverage.checked ? t('summary')(covMeta.incidents_unreached ?? 0, covMeta.incidents ?? 0) : '',
    ].filter(Boolean).join(' · ');
    Object.assign(document.body.dataset, {
      routes: String(r.features.length), checkpointsShown: String(hits.length), coverageCells: String(cov.features.length),
    });
    m.once('idle', () => { if (mine === seq) document.body.dataset.patrolLayer = 'ready'; });
    m.triggerRepaint();
  };
  for (const input of [routes, coverage, band]) input.addEventListener('change', (e) => { e.stopPropagation(); void draw(); });

  const swatch = (colour: string) => { const s = el('span', { class: 'swatch-box', 'aria-hidden': 'true' }); s.style.background = colour; return s; };
  const node = el('fieldset', { class: 'checks patrol-layer' }, el('legend', {}, t('title')),
    el('label', {}, routes, t('routes')),
    el('label', {}, coverage, t('coverage')),
    el('label', { class: 'band' }, t('band'), ' ', band),
    el('p', { class: 'small' }, swatch('#d55e00'), t('unreached'), ' ', swatch('#0072b2'), t('covered'), ' ', swatch('#56b4e9'), t('passesOnly')),
    status,
    el('p', { class: 'small' }, el('a', { href: `/rondes/?area=${areaId}`, id: 'rounds-link' }, t('week'))));
  return { node, update: (from, to) => { period = { from, to }; if (routes.checked || coverage.checked) void draw(); } };
}
