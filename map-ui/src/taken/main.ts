// "Aan ons toegewezen" (`/taken/`): the open reports assigned to the
// organisation of a gemeente, politie, brandweer or beveiliger member, in all
// their areas, overdue first; taken in hand, resolved with a note or handed
// back to the werkgroep without opening the map.
import '../beheer/beheer.css';
import './taken.css';
import { api, ApiError, type S } from '../api';
import { el, replace } from '../dom';
import { pageFailed } from '../page';
import { ACTION, ORG, STATUS, fmtDate, label, lang, t, translator } from '../i18n';

type WorkList = S['WorkList'];
type WorkItem = S['WorkItem'];

const w = translator({
  title: 'Aan ons toegewezen', empty: 'Er staat niets open voor uw organisatie.', overdue: 'Te laat', due: 'Uiterlijk',
  noDue: 'Geen streefdatum', note: 'Notitie (verplicht bij teruggeven)', onMap: 'Op de kaart',
  urgent: 'Spoed', count: (n: number, late: number) => `${n} open, waarvan ${late} te laat`,
}, {
  title: 'Assigned to us', empty: 'Nothing is open for your organisation.', overdue: 'Overdue', due: 'Due',
  noDue: 'No due date', note: 'Note (needed to hand back)', onMap: 'On the map',
  urgent: 'Urgent', count: (n: number, late: number) => `${n} open, ${late} overdue`,
});

const root = document.getElementById('app')!;
const day = (d: string) => new Date(`${d}T12:00:00Z`).toLocaleDateString(lang === 'en' ? 'en-GB' : 'nl-NL', { dateStyle: 'medium', timeZone: 'UTC' });

function item(i: WorkItem, reload: () => void): HTMLElement {
  const note = el('textarea', { rows: 2, maxlength: 1000, 'aria-label': w('note'), class: 'note' });
  const message = el('p', { class: 'message', role: 'status' });
  const act = async (path: string, body: unknown) => {
    try {
      await api(`/incidents/${i.incident_id}/${path}`, { method: 'POST', body });
      reload();
    } catch (e) {
      message.textContent = e instanceof ApiError ? (e.problem?.detail ?? e.message) : String(e);
      message.className = 'message error';
      message.setAttribute('role', 'alert');
    }
  };
  const buttons = i.actions.flatMap((a) => {
    if (a === 'take_in_hand') return [el('button', { type: 'button', 'data-action': a, onclick: () => act('status', { status: 'in_behandeling', reason: note.value || undefined }) }, label(ACTION, a))];
    if (a === 'resolve') return [el('button', { type: 'button', 'data-action': a, onclick: () => act('status', { status: 'opgelost', reason: note.value || undefined }) }, label(ACTION, a))];
    if (a === 'hand_back') return [el('button', { type: 'button', class: 'secondary', 'data-action': a, onclick: () => act('hand-back', { reason: note.value }) }, label(ACTION, a))];
    return [];
  });
  return el('article', { class: `work-item${i.overdue ? ' overdue' : ''}`, 'data-incident': i.incident_id, 'data-overdue': String(i.overdue) },
    el('h2', {}, i.urgent ? el('span', { class: 'badge urgent' }, w('urgent')) : null, lang === 'en' ? i.category_en : i.category_nl,
      el('span', { class: 'area' }, ` · ${i.area_name}${i.zone_name ? ` · ${i.zone_name}` : ''}`)),
    el('p', { class: 'facts' },
      i.overdue ? el('span', { class: 'badge late' }, w('overdue')) : null,
      `${i.due_date ? `${w('due')} ${day(i.due_date)}` : w('noDue')} · ${label(STATUS, i.status)} · ${label(ORG, i.assigned_to)} · ${fmtDate(i.occurred_at)}`),
    i.description ? el('p', { class: 'description' }, i.description) : null,
    el('div', { class: 'act' }, note, ...buttons,
      el('a', { href: `/?area=${i.area_id}&incident=${i.incident_id}${lang === 'en' ? '&lang=en' : ''}` }, w('onMap'))),
    message);
}

async function load() {
  document.body.dataset.state = 'loading';
  try {
    const list = await api<WorkList>('/work-list');
    const late = list.items.filter((i) => i.overdue).length;
    replace(root, el('main', { class: 'beheer taken' },
      el('header', {}, el('h1', {}, w('title')), el('span', { class: 'count' }, w('count')(list.items.length, late)),
        el('nav', {}, el('a', { href: `/${lang === 'en' ? '?lang=en' : ''}` }, t('back')))),
      list.items.length ? el('div', { class: 'items' }, ...list.items.map((i) => item(i, load))) : el('p', {}, w('empty'))));
    document.body.dataset.state = 'idle';
  } catch (e) {
    pageFailed(root, e);
  }
}

load();
