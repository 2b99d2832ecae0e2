// The page: sign-in, the navigation between views and the hash router (`#/logs/42`). Each view
// is a module exporting `render(root, route)`; it may return a function that stops its timers.

import { api, ApiError, auth } from './api.js';
import { h } from './dom.js';
import * as overview from './overview.js';
import * as logs from './logs.js';
import * as pipeline from './pipeline.js';
import * as records from './records.js';
import * as subscriptions from './subscriptions.js';

const VIEWS = [
  { path: 'overview', label: 'Overview', module: overview },
  { path: 'logs', label: 'Logs', module: logs },
  { path: 'pipeline', label: 'Pipeline', module: pipeline },
  { path: 'records', label: 'Records', module: records },
  { path: 'subscriptions', label: 'Subscriptions', module: subscriptions },
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const banner = document.getElementById('banner');
const signOut = document.getElementById('sign-out');
let stopView = null;
let signInNotice = '';

function parseRoute() {
  const raw = window.location.hash.replace(/^#\/?/, '');
  const [path, search = ''] = raw.split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || 'overview', parts: parts.slice(1), params: new URLSearchParams(search) };
}

function renderNav(current) {
  nav.replaceChildren(...VIEWS.map((view) => h('a', { href: `#/${view.path}`, 'aria-current': view.path === current ? 'page' : null }, view.label)));
}

function showSignIn() {
  nav.replaceChildren();
  signOut.hidden = true;
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'error', role: 'alert', id: 'sign-in-error' }, signInNotice);
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h('form', { class: 'sign-in panel', id: 'sign-in' },
    h('h1', null, 'Sign in'),
    h('p', null, 'Enter the admin token (CRM_ADMIN_TOKEN). It is kept for this browser tab only.'),
    h('label', { for: 'token' }, 'Admin token'), input, message, button);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    message.textContent = '';
    try {
      await api('/api/v1/webhooks/logs', { params: { page_size: 1 }, token: input.value.trim() });
      auth.token = input.value.trim();
      signInNotice = '';
      route();
    } catch (err) {
      message.textContent = err instanceof ApiError && err.status === 401
        ? 'That token was not accepted. Check the CRM_ADMIN_TOKEN the server runs with.'
        : err instanceof ApiError && err.status === 429
          ? 'Too many failed attempts from this address. Wait a minute, then try again.'
          : err.message;
      input.select();
    } finally {
      button.disabled = false;
    }
  });
  main.replaceChildren(form);
  input.focus();
}

async function route() {
  if (stopView) stopView();
  stopView = null;
  if (!auth.signedIn) return showSignIn();
  signOut.hidden = auth.mode === 'open';
  const current = parseRoute();
  const view = VIEWS.find((v) => v.path === current.view);
  if (!view) {
    window.location.hash = '#/overview';
    return;
  }
  renderNav(view.path);
  const root = h('div', { class: 'view', id: `view-${view.path}` });
  main.replaceChildren(root);
  try {
    stopView = (await view.module.render(root, current)) || null;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return;
    root.replaceChildren(h('p', { class: 'error', role: 'alert' }, err.message));
  }
}

window.addEventListener('crm:unauthorized', () => {
  if (auth.mode === 'open') return;
  auth.token = null;
  signInNotice = 'The server no longer accepts this token. Sign in again.';
  route();
});

signOut.addEventListener('click', () => {
  auth.token = null;
  signInNotice = 'Signed out.';
  route();
});

if (auth.mode === 'open') {
  banner.hidden = false;
  banner.textContent = 'No admin token is set (CRM_ADMIN_TOKEN), so this dashboard opens without sign-in. The server allows that only on a loopback address.';
}

// After moving to another view, keyboard focus starts at its content (not back at the top of the page).
window.addEventListener('hashchange', async () => {
  await route();
  if (!main.contains(document.activeElement)) main.focus({ preventScroll: true });
});
route();
