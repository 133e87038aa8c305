// What every page of the app does when it cannot start: a sign-in link
// when the session is missing (401), the problem's text otherwise; and the
// page's state for people and tests.
import { ApiError } from './api';
import { el, replace } from './dom';
import { t } from './i18n';

/** Shows why the page could not load, and sets `data-state` to `signin` or `error`. */
export function pageFailed(root: HTMLElement, e: unknown): void {
  if (e instanceof ApiError && e.status === 401) {
    document.body.dataset.state = 'signin';
    replace(root, el('p', {}, t('signInFirst'), ' ', el('a', { href: '/' }, t('signIn'))));
    return;
  }
  document.body.dataset.state = 'error';
  replace(root, el('p', { class: 'error', role: 'alert' }, e instanceof ApiError ? (e.problem?.detail ?? e.message) : e instanceof Error ? e.message : String(e)));
}
