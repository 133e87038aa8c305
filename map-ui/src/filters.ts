// The filter state, kept in the URL so that a link shows the same map.
import type { Area } from './api';
import { DAY, iso, parseDay, today } from './days';

export type Period = '4w' | 'quarter' | 'year' | 'baseline' | 'custom';

export interface Filters {
  area: string | null;
  period: Period;
  from: string; // YYYY-MM-DD, used when period = custom
  to: string;
  categories: string[];
  themes: string[];
  dimensions: string[];
  statuses: string[];
  /** Index of the week shown on the map (time slider), or null for the whole period. */
  week: number | null;
  view: 'map' | 'meeting';
  lang: 'nl' | 'en';
}

const list = (v: string | null) => (v ? v.split(',').filter(Boolean) : []);

export function readUrl(): Filters {
  const q = new URLSearchParams(location.search);
  const period = (q.get('period') as Period) || '4w';
  const week = q.get('week');
  return {
    area: q.get('area'),
    period: ['4w', 'quarter', 'year', 'baseline', 'custom'].includes(period) ? period : '4w',
    from: q.get('from') ?? '',
    to: q.get('to') ?? '',
    categories: list(q.get('category')),
    themes: list(q.get('theme')),
    dimensions: list(q.get('dimension')),
    statuses: list(q.get('status')),
    week: week !== null && /^\d+$/.test(week) ? Number(week) : null,
    view: q.get('view') === 'meeting' ? 'meeting' : 'map',
    lang: q.get('lang') === 'en' ? 'en' : 'nl',
  };
}

/** The page's URL for filter state `f`. */
export function urlFor(f: Filters): string {
  const q = new URLSearchParams();
  if (f.area) q.set('area', f.area);
  q.set('period', f.period);
  if (f.period === 'custom') { q.set('from', f.from); q.set('to', f.to); }
  if (f.categories.length) q.set('category', f.categories.join(','));
  if (f.themes.length) q.set('theme', f.themes.join(','));
  if (f.dimensions.length) q.set('dimension', f.dimensions.join(','));
  if (f.statuses.length) q.set('status', f.statuses.join(','));
  if (f.week !== null) q.set('week', String(f.week));
  if (f.view === 'meeting') q.set('view', 'meeting');
  if (f.lang === 'en') q.set('lang', 'en');
  return `${location.pathname}?${q}`;
}

export function writeUrl(f: Filters, push = false): void {
  const url = urlFor(f);
  if (push) history.pushState(null, '', url); else history.replaceState(null, '', url);
}

/** The period's first and last day (inclusive). */
export function range(f: Filters, area: Area | null): { from: string; to: string } {
  const end = today();
  const back = (days: number) => iso(new Date(end.getTime() - days * DAY));
  switch (f.period) {
    case 'quarter': return { from: back(90), to: iso(end) };
    case 'year': return { from: back(364), to: iso(end) };
    case 'baseline':
      if (area?.baseline_from) return { from: area.baseline_from, to: iso(end) };
      return { from: back(364), to: iso(end) };
    case 'custom':
      if (/^\d{4}-\d{2}-\d{2}$/.test(f.from) && /^\d{4}-\d{2}-\d{2}$/.test(f.to) && f.from <= f.to) return { from: f.from, to: f.to };
      return { from: back(27), to: iso(end) };
    default: return { from: back(27), to: iso(end) };
  }
}

/** Monday-based weeks covering the period: [first, last] day of each. */
export function weeks(r: { from: string; to: string }): { from: string; to: string }[] {
  const out: { from: string; to: string }[] = [];
  let d = parseDay(r.from);
  const end = parseDay(r.to);
  while (d <= end && out.length < 160) {
    const dow = (d.getUTCDay() + 6) % 7;
    const weekEnd = new Date(d.getTime() + (6 - dow) * DAY);
    out.push({ from: iso(d), to: iso(weekEnd < end ? weekEnd : end) });
    d = new Date(weekEnd.getTime() + DAY);
  }
  return out;
}

/** The server's filter query for this state (optionally for one week only). */
export function query(f: Filters, area: Area | null, only?: { from: string; to: string }): URLSearchParams {
  const r = only ?? range(f, area);
  const q = new URLSearchParams({ from: r.from, to: r.to });
  if (f.categories.length) q.set('category', f.categories.join(','));
  if (f.themes.length) q.set('theme', f.themes.join(','));
  if (f.dimensions.length) q.set('dimension', f.dimensions.join(','));
  if (f.statuses.length) q.set('status', f.statuses.join(','));
  return q;
}
