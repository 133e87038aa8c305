// "Mijn gegevens" in the reporting app (docs/privacy.md): download what is
// stored about me, see where I am signed in, sign out everywhere, and ask to
// be removed (my reports stay, anonymised). The server does the work; this
// only asks and says what happened.
import type { S } from '../api';

type SignedIn = S['SignedIn'];
import { el, replace } from '../dom';
import { fmtDate } from '../i18n';
import { tr } from './texts';

type Call = <T>(path: string, init?: { method?: string }) => Promise<{ status: number; data: T }>;

/** The section, filled in once the list of sessions is read; `zip` fetches
 * the export (my data as JSON and my photos); `gone` runs when this device is signed out. */
export function myData(call: Call, zip: () => Promise<Blob>, gone: (message: string) => void): HTMLElement {
  const msg = el('p', { class: 'message', role: 'status' });
  const list = el('ul', { class: 'sessions' });
  const fail = (e: unknown) => {
    msg.textContent = e instanceof Error ? e.message : String(e);
    msg.setAttribute('role', 'alert');
  };
  const download = async () => {
    try {
      const url = URL.createObjectURL(await zip());
      const a = el('a', { href: url, download: 'mijn-gegevens-kvo-meldingen.zip' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      msg.textContent = tr('downloaded');
    } catch (e) { fail(e); }
  };
  const everywhere = async () => {
    if (!confirm(tr('everywhereConfirm'))) return;
    try { await call('/me/sign-out-everywhere', { method: 'POST' }); gone(tr('signedOutEverywhere')); } catch (e) { fail(e); }
  };
  const removeMe = async () => {
    if (!confirm(tr('removeMeConfirm'))) return;
    try { await call('/me', { method: 'DELETE' }); gone(tr('removedMe')); } catch (e) { fail(e); }
  };
  void call<SignedIn[]>('/me/sessions').then(({ data }) => replace(list, ...data.map((s) =>
    el('li', { 'data-kind': s.kind, 'data-current': String(s.current) },
      `${s.kind === 'phone' ? tr('phoneSession') : tr('webSession')}${s.name ? ` “${s.name}”` : ''} · ${tr('since')} ${fmtDate(s.since)}`,
      s.current ? ` · ${tr('thisOne')}` : '')))).catch(fail);
  return el('section', { class: 'my-data', 'aria-labelledby': 'my-data-title' },
    el('h2', { id: 'my-data-title' }, tr('myData')),
    el('p', {}, tr('myDataHelp')),
    el('button', { type: 'button', id: 'download-my-data', onclick: () => void download() }, tr('downloadMyData')),
    el('h3', {}, tr('signedInAt')), list,
    el('div', { class: 'row' },
      el('button', { type: 'button', class: 'secondary', id: 'sign-out-everywhere', onclick: () => void everywhere() }, tr('signOutEverywhere')),
      el('button', { type: 'button', class: 'danger', id: 'remove-me', onclick: () => void removeMe() }, tr('removeMe'))),
    msg);
}
