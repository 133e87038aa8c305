// The werkgroep's incident table (`/tabel/?area=…`): the filtered incidents,
// sorted by any column, a page at a time; several at once assigned or merged
// as duplicates; the same set exported as CSV or GeoJSON. The filter lives in
// the URL, so a view can be shared.
import '../beheer/beheer.css';
import './tabel.css';
import { api, ApiError, type Area, type CategoryInfo, type Me, type S } from '../api';
import { el, replace } from '../dom';
import { pageFailed } from '../page';
import { ASSET_KIND, ORG, STATUS, fmtDate, fmtNum, label, lang, t, translator } from '../i18n';

type Table = S['IncidentTable'];
type Row = S['TableRow'];

const w = translator({
  title: 'Meldingen', from: 'Van', to: 'Tot en met', category: 'Categorie', status: 'Status', zone: 'Zone', assigned: 'Toegewezen aan',
  aangifte: 'Aangifte', damage: 'Schade', confirmations: 'Bevestigd', when: 'Wanneer', due: 'Uiterlijk', all: 'Alle',
  noZone: 'Zonder zone', yes: 'Ja', no: 'Nee', nobody: 'Niemand', apply: 'Toepassen', prev: 'Vorige', next: 'Volgende',
  page: (p: number, n: number, total: number) => `Pagina ${p} van ${n} · ${total} meldingen`, select: 'Selecteren',
  selected: (n: number) => `${n} geselecteerd`, assignTo: 'Toewijzen aan', mergeSelected: 'Samenvoegen (in de oudste)',
  exportCsv: 'CSV (Excel)', exportGeo: 'GeoJSON', open: 'Openen', confirmMerge: (n: number) => `${n} meldingen samenvoegen in de oudste?`,
  done: 'Klaar.', toMap: 'Naar de kaart', none: 'Geen meldingen met deze filters.',
}, {
  title: 'Reports', from: 'From', to: 'To (inclusive)', category: 'Category', status: 'Status', zone: 'Zone', assigned: 'Assigned to',
  aangifte: 'Police report', damage: 'Damage', confirmations: 'Confirmed', when: 'When', due: 'Due', all: 'All',
  noZone: 'No zone', yes: 'Yes', no: 'No', nobody: 'Nobody', apply: 'Apply', prev: 'Previous', next: 'Next',
  page: (p: number, n: number, total: number) => `Page ${p} of ${n} · ${total} reports`, select: 'Select',
  selected: (n: number) => `${n} selected`, assignTo: 'Assign to', mergeSelected: 'Merge (into the oldest)',
  exportCsv: 'CSV (Excel)', exportGeo: 'GeoJSON', open: 'Open', confirmMerge: (n: number) => `Merge ${n} reports into the oldest?`,
  done: 'Done.', toMap: 'To the map', none: 'No reports with these filters.',
});

const root = document.getElementById('app')!;
const params = new URLSearchParams(location.search);
const PAGE_SIZE = 50;
const COLUMNS: [string, () => string][] = [
  ['occurred_at', () => w('when')], ['category', () => w('category')], ['zone', () => w('zone')], ['status', () => w('status')],
  ['assigned_to', () => w('assigned')], ['due_date', () => w('due')], ['damage', () => w('damage')], ['confirmations', () => w('confirmations')],
];
/** The URL parameters that are the filter (also sent to the exports). */
const FILTER_KEYS = ['from', 'to', 'category', 'status', 'zone', 'no_zone', 'assigned_to', 'aangifte'];

function go(changes: Record<string, string | null>) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) if (v === null || v === '') q.delete(k); else q.set(k, v);
  location.assign(`/tabel/?${q}`);
}

function filterQuery(): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of FILTER_KEYS) { const v = params.get(k); if (v) q.set(k, v); }
  return q;
}

function say(node: HTMLElement, text: string, error = false) {
  node.textContent = text;
  node.className = `message ${error ? 'error' : 'ok'}`;
  node.setAttribute('role', error ? 'alert' : 'status');
}

async function start() {
  document.body.dataset.state = 'loading';
  try {
    const me = await api<Me>('/me');
    const mine = me.memberships.filter((m) => m.role !== 'ondernemer');
    if (!mine.length) { location.replace('/melden/'); return; }
    const areaId = mine.some((m) => m.area_id === params.get('area')) ? params.get('area')! : mine[0].area_id;
    const sort = params.get('sort') ?? 'occurred_at';
    const order = params.get('order') === 'asc' ? 'asc' : 'desc';
    const page = Math.max(0, Number(params.get('page') ?? 0) || 0);
    const q = filterQuery();
    q.set('sort', sort); q.set('order', order); q.set('page', String(page)); q.set('page_size', String(PAGE_SIZE));
    const [area, cats, table] = await Promise.all([
      api<Area>(`/areas/${areaId}`),
      api<{ categories: CategoryInfo[] }>(`/areas/${areaId}/categories`),
      api<Table>(`/areas/${areaId}/incident-table?${q}`),
    ]);
    document.body.dataset.area = areaId;
    document.body.dataset.total = String(table.total);
    const catName = (code: string) => { const c = cats.categories.find((x) => x.code === code); return c ? (lang === 'en' ? c.label_en : c.label_nl) : code; };
    const message = el('p', { class: 'message', role: 'status' });

    // The filter form.
    const from = el('input', { type: 'date', name: 'from', value: params.get('from') ?? '' });
    const to = el('input', { type: 'date', name: 'to', value: params.get('to') ?? '' });
    const sel = (name: string, options: [string, string][], value: string | null) =>
      el('select', { name }, ...options.map(([v, l]) => el('option', { value: v, selected: v === (value ?? '') }, l)));
    const category = sel('category', [['', w('all')], ...cats.categories.map((c) => [c.code, catName(c.code)] as [string, string])], params.get('category'));
    const status = sel('status', [['', w('all')], ...Object.keys(STATUS).map((s) => [s, label(STATUS, s)] as [string, string])], params.get('status'));
    const zoneValue = params.get('no_zone') === 'true' ? 'none' : params.get('zone');
    const zone = sel('zone', [['', w('all')], ['none', w('noZone')], ...area.zones.map((z) => [z.id, z.name] as [string, string])], zoneValue);
    const assigned = sel('assigned_to', [['', w('all')], ...Object.keys(ORG).map((o) => [o, label(ORG, o)] as [string, string])], params.get('assigned_to'));
    const aangifte = sel('aangifte', [['', w('all')], ['true', w('yes')], ['false', w('no')]], params.get('aangifte'));
    const filters = el('form', { class: 'filters', onsubmit: (e: Event) => {
      e.preventDefault();
      go({ from: from.value, to: to.value, category: category.value, status: status.value,
        zone: zone.value === 'none' ? null : zone.value, no_zone: zone.value === 'none' ? 'true' : null,
        assigned_to: assigned.value, aangifte: aangifte.value, page: null });
    } }, ...([[w('from'), from], [w('to'), to], [w('category'), category], [w('status'), status], [w('zone'), zone],
      [w('assigned'), assigned], [w('aangifte'), aangifte]] as [string, HTMLElement][]).map(([l, c]) => el('label', { class: 'field' }, el('span', {}, l), c)),
    el('button', { type: 'submit' }, w('apply')));

    // The table, its sortable headers and the row checkboxes.
    const checks: [HTMLInputElement, Row][] = [];
    const header = el('tr', {}, el('th', { scope: 'col' }, el('span', { class: 'visually-hidden' }, w('select'))),
      ...COLUMNS.map(([key, name]) => {
        const active = key === sort;
        const next = active && order === 'desc' ? 'asc' : 'desc';
        return el('th', { scope: 'col', 'aria-sort': active ? (order === 'asc' ? 'ascending' : 'descending') : 'none' },
          el('button', { type: 'button', class: 'sort', 'data-sort': key, onclick: () => go({ sort: key, order: next, page: null }) },
            name(), active ? (order === 'asc' ? ' ▲' : ' ▼') : ''));
      }), el('th', { scope: 'col' }, ''));
    const body = el('tbody', {}, ...table.rows.map((r) => {
      const box = el('input', { type: 'checkbox', 'aria-label': `${w('select')}: ${catName(r.category)} ${fmtDate(r.occurred_at)}` });
      checks.push([box, r]);
      return el('tr', { 'data-id': r.id },
        el('td', {}, box), el('td', {}, fmtDate(r.occurred_at)), el('td', {}, catName(r.category),
          r.street || r.asset ? el('div', { class: 'small place' }, [r.street, r.asset ? `${label(ASSET_KIND, r.asset.kind)} ${r.asset.external_id}` : null].filter(Boolean).join(' · ')) : null),
        el('td', {}, r.zone_name ?? '–'),
        el('td', {}, label(STATUS, r.status)), el('td', {}, r.assigned_to ? label(ORG, r.assigned_to) : '–'),
        el('td', {}, r.due_date ?? '–'), el('td', { class: 'num' }, r.damage_eur === null || r.damage_eur === undefined ? '–' : `€ ${fmtNum(r.damage_eur, 2)}`),
        el('td', { class: 'num' }, String(r.confirmations)),
        el('td', {}, el('a', { href: `/?area=${areaId}&incident=${r.id}${lang === 'en' ? '&lang=en' : ''}` }, w('open'))));
    }));
    const pages = Math.max(1, Math.ceil(table.total / PAGE_SIZE));

    // Bulk actions on the checked rows.
    const chosen = () => checks.filter(([c]) => c.checked).map(([, r]) => r);
    const count = el('span', { class: 'count' }, w('selected')(0));
    body.addEventListener('change', () => { count.textContent = w('selected')(chosen().length); });
    const org = sel('bulk-org', Object.keys(ORG).map((o) => [o, label(ORG, o)] as [string, string]), 'gemeente');
    const due = el('input', { type: 'date', name: 'bulk-due', 'aria-label': w('due') });
    const run = async (each: (r: Row) => Promise<unknown>, rows: Row[]) => {
      try {
        for (const r of rows) await each(r);
        say(message, w('done'));
        setTimeout(() => location.reload(), 300);
      } catch (e) { say(message, e instanceof ApiError ? (e.problem?.detail ?? e.message) : String(e), true); }
    };
    const bulk = el('div', { class: 'bulk toolbar' }, count,
      el('label', { class: 'field' }, el('span', {}, w('assignTo')), org), el('label', { class: 'field' }, el('span', {}, w('due')), due),
      el('button', { type: 'button', class: 'bulk-assign', onclick: () => void run((r) =>
        api(`/incidents/${r.id}/assignment`, { method: 'POST', body: { organisation: org.value, due_date: due.value || undefined } }), chosen()) }, w('assignTo')),
      el('button', { type: 'button', class: 'secondary bulk-merge', onclick: () => {
        const rows = chosen().sort((a, b) => a.occurred_at.localeCompare(b.occurred_at));
        if (rows.length < 2 || !confirm(w('confirmMerge')(rows.length))) return;
        void run((r) => api(`/incidents/${r.id}/merge`, { method: 'POST', body: { into: rows[0].id } }), rows.slice(1));
      } }, w('mergeSelected')));

    const exportQuery = filterQuery().toString();
    replace(root, el('main', { class: 'beheer tabel' },
      el('header', {}, el('h1', {}, w('title')),
        mine.length > 1
          ? el('select', { 'aria-label': t('area'), class: 'area-choice', onchange: (e: Event) => go({ area: (e.target as HTMLSelectElement).value, page: null, zone: null, no_zone: null }) },
            ...mine.map((m) => el('option', { value: m.area_id, selected: m.area_id === areaId }, m.area_name)))
          : el('span', {}, area.name),
        el('nav', {}, el('a', { href: `/?area=${areaId}${lang === 'en' ? '&lang=en' : ''}` }, w('toMap')),
          el('a', { class: 'export-csv', href: `/api/v1/areas/${areaId}/export/incidents.csv?${exportQuery}`, download: '' }, w('exportCsv')),
          el('a', { class: 'export-geojson', href: `/api/v1/areas/${areaId}/export/incidents.geojson?${exportQuery}`, download: '' }, w('exportGeo')))),
      filters, message, bulk,
      table.rows.length ? el('table', { class: 'incidents' }, el('thead', {}, header), body) : el('p', {}, w('none')),
      el('nav', { class: 'pager', 'aria-label': w('page')(page + 1, pages, table.total) },
        el('button', { type: 'button', class: 'secondary prev', disabled: page === 0, onclick: () => go({ page: String(page - 1) }) }, w('prev')),
        el('span', { class: 'page-info' }, w('page')(page + 1, pages, table.total)),
        el('button', { type: 'button', class: 'secondary next', disabled: page + 1 >= pages, onclick: () => go({ page: String(page + 1) }) }, w('next')))));
    document.body.dataset.state = 'idle';
  } catch (e) {
    pageFailed(root, e);
  }
}

start();
