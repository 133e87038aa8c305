// One incident: the popup on the map, the full photo, and the follow-up
// dialog with the actions the server says this person may take.
import { Popup, type LngLat, type Map as MlMap } from 'maplibre-gl';
import { api, type Action, type CategoryInfo, type FollowUp, type Incident } from './api';
import { el, replace } from './dom';
import { t, label, fmtDate, lang, ASSET_KIND, STATUS, ACTION, ORG } from './i18n';

let popup: Popup | null = null;

export async function incidentPopup(map: MlMap, at: LngLat, id: string, categories: CategoryInfo[], followUp: (i: Incident) => void) {
  const inc = await api<Incident>(`/incidents/${id}`);
  const cat = categories.find((c) => c.code === inc.category);
  const photo = inc.photos[0];
  const body = el('div', { class: 'popup' },
    el('h3', {}, cat ? (lang === 'en' ? cat.label_en : cat.label_nl) : inc.category),
    el('p', { class: 'meta' }, `${fmtDate(inc.occurred_at)} · ${label(STATUS, inc.status)}`),
    inc.street || inc.asset ? el('p', { class: 'place' }, [inc.street, inc.asset ? `${label(ASSET_KIND, inc.asset.kind)} ${inc.asset.external_id}` : null].filter(Boolean).join(' · ')) : null,
    el('p', { class: 'description' }, inc.description ?? t('noDescription')),
    photo ? el('button', { type: 'button', class: 'thumb', 'aria-label': t('photo'), onclick: () => showPhoto(photo.url) },
      el('img', { src: photo.thumbnail_url, alt: t('photo'), width: 160 })) : null,
    el('button', { type: 'button', class: 'follow-up', onclick: () => followUp(inc) }, t('followUp')));
  popup?.remove();
  popup = new Popup({ maxWidth: '280px' }).setLngLat(at).setDOMContent(body).addTo(map);
}

/** The popup of an asset of the register. */
export function assetPopup(map: MlMap, at: LngLat, props: { kind: string; label: string; street?: string }) {
  popup?.remove();
  popup = new Popup({ maxWidth: '240px' }).setLngLat(at)
    .setDOMContent(el('div', { class: 'popup asset' }, el('h3', {}, `${label(ASSET_KIND, props.kind)} ${props.label}`), props.street ? el('p', {}, props.street) : null))
    .addTo(map);
}

export function showPhoto(url: string) {
  const dialog = el('dialog', { class: 'photo', 'aria-label': t('photo') },
    el('img', { src: url, alt: t('photo') }),
    el('form', { method: 'dialog' }, el('button', {}, t('close'))));
  document.body.append(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  dialog.showModal();
}

export async function openFollowUpById(id: string, changed: () => void) {
  openFollowUp(await api<Incident>(`/incidents/${id}`), changed);
}

const STATUS_ACTIONS: Partial<Record<Action, string>> = { take_in_hand: 'in_behandeling', resolve: 'opgelost', reject: 'afgewezen', reopen: 'heropend' };

export async function openFollowUp(inc: Incident, changed: () => void) {
  const dialog = el('dialog', { class: 'follow-up-dialog', 'aria-labelledby': 'fu-title' });
  document.body.append(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  const message = el('p', { role: 'alert', class: 'error' });
  const render = (f: FollowUp) => {
    const reason = el('input', { id: 'fu-reason', name: 'reason', maxlength: 500 });
    const act = async (path: string, body: unknown, method = 'POST') => {
      try {
        render(await api<FollowUp>(`/incidents/${inc.id}/${path}`, { method, body }));
        changed();
      } catch (e) { message.textContent = e instanceof Error ? e.message : String(e); }
    };
    const statusButtons = f.allowed.filter((a) => a in STATUS_ACTIONS).map((a) =>
      el('button', { type: 'button', 'data-action': a, onclick: () => act('status', { status: STATUS_ACTIONS[a], reason: reason.value || undefined }) }, label(ACTION, a)));
    const org = el('select', { id: 'fu-org', 'aria-label': t('assigned') }, ...Object.keys(ORG).map((o) => el('option', { value: o, selected: f.assigned_to === o }, label(ORG, o))));
    const due = el('input', { type: 'date', id: 'fu-due', 'aria-label': t('dueDate'), value: f.due_date ?? '' });
    const comment = el('textarea', { id: 'fu-comment', rows: 2, maxlength: 2000, 'aria-label': t('comment') });
    const aangifte = el('input', { type: 'checkbox', id: 'fu-aangifte', checked: f.aangifte });
    const damage = el('input', { type: 'number', id: 'fu-damage', min: 0, step: '0.01', value: f.damage_eur ?? '', 'aria-label': t('damageEur') });
    const facts = f.allowed.includes('aangifte') || f.allowed.includes('damage');
    const handBack = () => reason.value.trim()
      ? act('hand-back', { reason: reason.value })
      : void (message.textContent = t('reasonNeeded'));
    const duplicates = f.allowed.includes('merge') ? inc.possible_duplicates ?? [] : [];
    replace(dialog,
      el('h2', { id: 'fu-title' }, `${label(STATUS, f.status)}${f.assigned_to ? ` · ${t('assigned')}: ${label(ORG, f.assigned_to)}` : ''}`),
      el('p', { class: 'description' }, inc.description ?? t('noDescription')),
      statusButtons.length || f.allowed.includes('hand_back') ? el('div', { class: 'actions' }, el('label', { for: 'fu-reason' }, t('reason')), reason, ...statusButtons,
        f.allowed.includes('hand_back') ? el('button', { type: 'button', 'data-action': 'hand_back', onclick: handBack }, label(ACTION, 'hand_back')) : null) : null,
      facts ? el('div', { class: 'actions facts' },
        f.allowed.includes('aangifte') ? el('label', { for: 'fu-aangifte' }, aangifte, ` ${label(ACTION, 'aangifte')}`) : null,
        f.allowed.includes('damage') ? damage : null,
        el('button', { type: 'button', 'data-action': 'facts', onclick: () => act('facts', {
          aangifte: f.allowed.includes('aangifte') ? aangifte.checked : undefined,
          damage_eur: f.allowed.includes('damage') && damage.value !== '' ? Number(damage.value) : undefined }, 'PATCH') }, t('save'))) : null,
      duplicates.length ? el('div', { class: 'actions duplicates' }, el('h3', {}, t('possibleSame')),
        el('ul', {}, ...duplicates.map((d) => el('li', {}, `${d.category} · ${fmtDate(d.occurred_at)} · ${label(STATUS, d.status)} · ${Math.round(d.distance_m)} m `,
          el('button', { type: 'button', 'data-action': 'merge', 'data-into': d.id, onclick: () => act('merge', { into: d.id, reason: reason.value || undefined }) }, t('mergeInto')))))) : null,
      f.allowed.includes('assign') ? el('div', { class: 'actions' }, org, due,
        el('button', { type: 'button', 'data-action': 'assign', onclick: () => act('assignment', { organisation: org.value, due_date: due.value || undefined }) }, t('assign'))) : null,
      f.allowed.includes('comment') ? el('div', { class: 'actions' }, comment,
        el('button', { type: 'button', 'data-action': 'comment', onclick: () => act('comments', { body: comment.value }) }, t('comment'))) : null,
      message,
      el('h3', {}, t('history')),
      el('ol', { class: 'history' }, ...f.history.map((h) => el('li', { 'data-action': h.action },
        `${fmtDate(h.at)} · ${h.by ?? '–'} · ${h.action === 'status' ? label(STATUS, h.status) : label(ACTION, h.action)}`
        + `${h.detail ? ` · ${h.detail}` : ''}${h.reason ? ` · ${h.reason}` : ''}`))),
      el('h3', {}, t('comments')),
      el('ul', { class: 'comments' }, ...f.comments.map((c) => el('li', {}, el('strong', {}, c.author ?? '–'), ` (${fmtDate(c.created_at)}): `, c.body))),
      el('form', { method: 'dialog' }, el('button', {}, t('close'))));
  };
  try {
    render(await api<FollowUp>(`/incidents/${inc.id}/follow-up`));
  } catch (e) {
    replace(dialog, el('p', { class: 'error' }, e instanceof Error ? e.message : String(e)), el('form', { method: 'dialog' }, el('button', {}, t('close'))));
  }
  dialog.showModal();
}
