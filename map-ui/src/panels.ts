// The analysis panel: theme × schoon/heel/veilig, trend, hour × weekday,
// significant hotspots (named by their street), assets reported repeatedly,
// open incidents.
import type { Analysis, CategoryInfo, IncidentPage, RepeatedAsset } from './api';
import { el, svg } from './dom';
import { t, label, fmtNum, ASSET_KIND, THEME, DIMENSION, STATUS, lang } from './i18n';
import { VIRIDIS } from './map';
import { openFollowUpById } from './incident';

function changeText(change: number | null | undefined, pct: number | null | undefined): string {
  if (change === null || change === undefined) return '–';
  const sign = change > 0 ? '+' : '';
  return pct === null || pct === undefined ? `${sign}${fmtNum(change)}` : `${sign}${fmtNum(change)} (${sign}${fmtNum(pct, 0)}%)`;
}

export function themeTable(a: Analysis): HTMLElement {
  const rows = a.by_theme.filter((r) => (r.current ?? 0) > 0 || (r.comparison ?? 0) > 0);
  return el('table', { class: 'themes' },
    el('caption', {}, `${t('total')}: ${fmtNum(a.totals.current)} · ${t('previous')}: ${fmtNum(a.totals.comparison)} · ${changeText(a.totals.change, a.totals.change_pct)}`),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, t('themeCol')), el('th', { scope: 'col' }, t('dimensions')),
      el('th', { scope: 'col', class: 'num' }, t('incidents')), el('th', { scope: 'col', class: 'num' }, t('change')))),
    el('tbody', {}, ...rows.map((r) => el('tr', {},
      el('th', { scope: 'row' }, r.theme ? label(THEME, r.theme) : t('theme_none')),
      el('td', {}, r.dimension ? label(DIMENSION, r.dimension) : t('dims_none')),
      el('td', { class: 'num' }, fmtNum(r.current)),
      el('td', { class: `num ${(r.change ?? 0) > 0 ? 'up' : (r.change ?? 0) < 0 ? 'down' : ''}` }, changeText(r.change, r.change_pct))))));
}

export function trendChart(a: Analysis): Element {
  const w = 320, h = 110, pad = 22;
  const pts = a.weekly.map((p) => p.count ?? 0);
  const max = Math.max(1, ...pts);
  const x = (i: number) => pad + (i * (w - 2 * pad)) / Math.max(1, pts.length - 1);
  const y = (v: number) => h - pad - (v * (h - 2 * pad)) / max;
  const line = pts.map((v, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  const first = a.weekly[0]?.week_start ?? '', last = a.weekly[a.weekly.length - 1]?.week_start ?? '';
  return svg('svg', { viewBox: `0 0 ${w} ${h}`, class: 'trend', role: 'img', 'aria-label': `${t('trend')}: ${pts.join(', ')}` },
    svg('line', { x1: pad, y1: h - pad, x2: w - pad, y2: h - pad, stroke: '#555' }),
    svg('path', { d: line || 'M0,0', fill: 'none', stroke: '#0072b2', 'stroke-width': 2 }),
    ...pts.map((v, i) => svg('circle', { cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 2.5, fill: '#0072b2' }, svg('title', {}, `${a.weekly[i].week_start}: ${v}`))),
    svg('text', { x: pad, y: h - 6, 'font-size': 10 }, first),
    svg('text', { x: w - pad, y: h - 6, 'font-size': 10, 'text-anchor': 'end' }, last),
    svg('text', { x: 2, y: pad, 'font-size': 10 }, String(max)));
}

function viridis(v: number): string {
  return VIRIDIS[Math.min(VIRIDIS.length - 1, Math.floor(v * VIRIDIS.length))];
}

export function hourGrid(a: Analysis): HTMLElement {
  const max = Math.max(1, ...a.hour_weekday.flat().map((v) => v ?? 0));
  const days = t('days');
  return el('table', { class: 'grid', 'aria-label': t('hourWeekday') },
    el('thead', {}, el('tr', {}, el('th', {}), ...Array.from({ length: 24 }, (_, h) => el('th', { scope: 'col' }, h % 6 === 0 ? String(h) : '')))),
    el('tbody', {}, ...a.hour_weekday.map((row, d) => el('tr', {}, el('th', { scope: 'row' }, days[d] ?? String(d)),
      ...row.map((v, h) => {
        const td = el('td', { title: `${days[d]} ${h}:00 — ${v ?? '–'}` });
        td.style.background = v ? viridis(v / max) : '#f4f4f4';
        return td;
      })))));
}

export function hotspotList(a: Analysis, flyTo: ((lon: number, lat: number) => void) | null): HTMLElement {
  if (!a.hotspots.length) return el('p', {}, t('noHotspots'));
  return el('ol', { class: 'hotspots' }, ...a.hotspots.slice(0, 10).map((h) => {
    const text = `${h.street ? `${h.street}: ` : ''}${fmtNum(h.neighbourhood ?? h.count)} ${t('incidents')} · Gi* z = ${fmtNum(h.z, 1)}${h.confidence ? ` · ${t('confidence')} ${h.confidence}%` : ''}`;
    return el('li', {}, flyTo ? el('button', { type: 'button', class: 'link hotspot', onclick: () => flyTo(h.lon, h.lat) }, `${t('flyTo')}: ${text}`) : text);
  }));
}

/** Assets with repeated reports ("Lichtmast 0412 (Lantaarnpad): 4 meldingen, 2 open"), most first. */
export function repeatedList(items: RepeatedAsset[], flyTo: (lon: number, lat: number) => void): HTMLElement {
  return el('section', { class: 'repeated' }, el('h3', {}, t('repeated')),
    items.length
      ? el('ol', {}, ...items.slice(0, 10).map((a) => el('li', {}, el('button', { type: 'button', class: 'link repeated-asset', 'data-id': a.id, onclick: () => flyTo(a.lon, a.lat) },
        `${label(ASSET_KIND, a.kind)} ${a.external_id}${a.street ? ` (${a.street})` : ''}: ${t('reportsOpen')(a.reports, a.open)}`))))
      : el('p', {}, t('noRepeated')));
}

/** What the analysis panel compares with, and how to ask again. */
export interface Comparing {
  compare: 'previous' | 'baseline';
  /** The area has a nul-meting to compare with. */
  hasBaseline: boolean;
  change: (compare: 'previous' | 'baseline') => void;
}

/** The theme table for one zone (`''`: the whole area; `'none'`: zonder zone). */
function zoneThemes(a: Analysis, zone: string): Analysis {
  if (!zone) return a;
  const rows = a.by_zone.filter((r) => (zone === 'none' ? !r.zone_id : r.zone_id === zone));
  const sum = (k: 'current' | 'comparison') => rows.reduce((n, r) => n + (r[k] ?? 0), 0);
  const [cur, cmp] = [sum('current'), sum('comparison')];
  return { ...a, by_theme: rows, totals: { current: cur, comparison: cmp, change: cur - cmp, change_pct: cmp ? Math.round(((cur - cmp) * 1000) / cmp) / 10 : null } };
}

export function renderAnalysis(a: Analysis, flyTo: (lon: number, lat: number) => void, cmp?: Comparing): HTMLElement {
  const fu = a.follow_up;
  const zones = new Map<string, string>();
  for (const r of a.by_zone) if (r.zone_id) zones.set(r.zone_id, r.zone_name ?? r.zone_id);
  const table = el('div', { class: 'theme-table' }, themeTable(a));
  const zoneSelect = el('select', { id: 'analysis-zone', 'aria-label': t('zone') },
    el('option', { value: '' }, `${t('zone')}: ${t('all')}`),
    ...[...zones].map(([id, name]) => el('option', { value: id }, name)),
    el('option', { value: 'none' }, t('noZone')));
  zoneSelect.addEventListener('change', () => table.replaceChildren(themeTable(zoneThemes(a, zoneSelect.value))));
  const compareSelect = el('select', { id: 'analysis-compare', 'aria-label': t('compareWith') },
    el('option', { value: 'previous', selected: cmp?.compare !== 'baseline' }, t('previous')),
    el('option', { value: 'baseline', selected: cmp?.compare === 'baseline', disabled: !cmp?.hasBaseline }, t('baselineCompare')));
  compareSelect.addEventListener('change', () => cmp?.change(compareSelect.value as 'previous' | 'baseline'));
  return el('div', {},
    el('h2', {}, t('analysis')),
    el('div', { class: 'analysis-controls' }, cmp ? el('label', {}, `${t('compareWith')} `, compareSelect) : null, zones.size ? zoneSelect : null),
    table,
    el('p', {}, `${t('medianResolution')}: ${fu.median_hours_to_resolution === null || fu.median_hours_to_resolution === undefined ? '–' : `${fmtNum(fu.median_hours_to_resolution, 1)} ${t('hours')}`}`),
    el('h3', {}, t('trend')), trendChart(a),
    el('h3', {}, t('hourWeekday')), hourGrid(a),
    el('h3', {}, t('hotspots')), hotspotList(a, flyTo));
}

export function renderOpen(page: IncidentPage, categories: CategoryInfo[], changed: () => void): HTMLElement {
  const name = (code: string) => { const k = categories.find((c) => c.code === code); return k ? (lang === 'en' ? k.label_en : k.label_nl) : code; };
  return el('section', { class: 'open' }, el('h3', {}, t('open')),
    page.items.length
      ? el('ul', {}, ...page.items.map((i) => el('li', {}, el('button', { type: 'button', class: 'link open-incident', 'data-id': i.id, onclick: () => openFollowUpById(i.id, changed) },
        `${name(i.category)} · ${label(STATUS, i.status)} · ${new Date(i.occurred_at).toLocaleDateString(lang === 'en' ? 'en-GB' : 'nl-NL')}`))))
      : el('p', {}, t('noOpen')));
}
