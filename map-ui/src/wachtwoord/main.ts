// Setting one's own password with the one-time link the beheerder handed
// over (`/wachtwoord/#token=…`; the token stays in the fragment, so it never
// reaches a server log). The beheerder never knows the password.
import '../beheer/beheer.css';
import { api, ApiError } from '../api';
import { el, replace } from '../dom';
import { lang, translator } from '../i18n';

const t = translator({
  title: 'Wachtwoord kiezen', password: 'Nieuw wachtwoord (minstens 10 tekens)', again: 'Nog een keer',
  save: 'Wachtwoord opslaan', mismatch: 'De twee wachtwoorden zijn niet gelijk.', done: 'Uw wachtwoord is opgeslagen. U kunt nu inloggen.',
  signIn: 'Naar inloggen', noToken: 'Deze link is niet compleet; vraag de beheerder om een nieuwe.',
}, {
  title: 'Choose a password', password: 'New password (at least 10 characters)', again: 'Once more',
  save: 'Save password', mismatch: 'The two passwords differ.', done: 'Your password has been saved. You can sign in now.',
  signIn: 'To sign-in', noToken: 'This link is incomplete; ask the beheerder for a new one.',
});

const root = document.getElementById('app')!;
const token = new URLSearchParams(location.hash.slice(1)).get('token');
const message = el('p', { class: 'message', role: 'status' });
const password = el('input', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: 10, maxlength: 200 });
const again = el('input', { type: 'password', name: 'again', autocomplete: 'new-password', required: true });
const form = el('form', { class: 'password-form', onsubmit: async (e: Event) => {
  e.preventDefault();
  if (password.value !== again.value) { message.textContent = t('mismatch'); message.className = 'message error'; return; }
  try {
    await api('/password', { method: 'POST', body: { token, password: password.value } });
    replace(root, el('main', { class: 'beheer' }, el('h1', {}, t('title')), el('p', { class: 'message ok', role: 'status' }, t('done')),
      el('p', {}, el('a', { href: `/${lang === 'en' ? '?lang=en' : ''}` }, t('signIn')))));
    document.body.dataset.state = 'done';
  } catch (err) {
    message.textContent = err instanceof ApiError ? (err.problem?.detail ?? err.message) : String(err);
    message.className = 'message error';
    message.setAttribute('role', 'alert');
  }
} },
  el('label', { class: 'field' }, el('span', {}, t('password')), password),
  el('label', { class: 'field' }, el('span', {}, t('again')), again),
  el('button', { type: 'submit' }, t('save')));
replace(root, el('main', { class: 'beheer' }, el('h1', {}, t('title')), token ? form : el('p', { class: 'error' }, t('noToken')), message));
document.body.dataset.state = 'idle';
