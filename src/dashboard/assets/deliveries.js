// Deliveries of one subscription: a table filtered by status and paged by cursor, and one
// delivery with the body it sends, every attempt (each linked to its outgoing log row) and Retry.

import { api } from './api.js';
import { actionButton, empty, fields, fmt, h, panel, pretty, statusBadge, when } from './dom.js';

const BASE = '/api/v1/webhooks/deliveries';
const STATUSES = ['pending', 'delivered', 'dead', 'cancelled'];
const PAGE = 20;

export function statusOf(delivery) {
  const kind = { delivered: 'ok', pending: 'warn', dead: 'bad' }[delivery.status] || '';
  return h('span', { class: `badge ${kind}` }, delivery.status);
}

function href(subscription, params) {
  const query = new URLSearchParams(params).toString();
  return `#/subscriptions/${subscription}${query ? `?${query}` : ''}`;
}

/** The deliveries of `subscription` for the status and cursor in `params`. */
export async function table(subscription, params) {
  const status = STATUSES.includes(params.get('status')) ? params.get('status') : '';
  const cursor = params.get('cursor') || undefined;
  const { data } = await api(BASE, { params: { subscription_id: subscription, status, cursor, limit: PAGE } });
  const filter = h('nav', { class: 'segmented', 'aria-label': 'Delivery status' }, ['', ...STATUSES].map((s) =>
    h('a', { class: 'button quiet', href: href(subscription, s ? { status: s } : {}), 'aria-current': s === status ? 'page' : null }, s || 'all')));
  const rows = data.items.map((d) => h('tr', { class: d.status === 'dead' ? 'failed' : null },
    h('td', null, h('a', { href: `#/subscriptions/deliveries/${d.id}`, 'aria-label': `Delivery ${d.id}` }, String(d.id))),
    h('td', null, d.event),
    h('td', null, statusOf(d)),
    h('td', { class: 'num' }, fmt.number(d.attempts)),
    h('td', null, d.last_status_code === null ? '—' : statusBadge(d.last_status_code)),
    h('td', null, when(d.created_at)),
    h('td', null, d.delivered_at ? when(d.delivered_at) : d.next_attempt_at ? ['next ', when(d.next_attempt_at)] : '—'),
    h('td', { class: 'wrap' }, d.last_error || '')));
  const older = new URLSearchParams(status ? { status } : {});
  if (data.next_cursor) older.set('cursor', data.next_cursor);
  return h('div', null,
    h('div', { class: 'toolbar' }, filter),
    rows.length
      ? h('div', { class: 'table-wrap' }, h('table', { id: 'delivery-table' },
        h('thead', null, h('tr', null, ['#', 'Event', 'Status', 'Attempts', 'Last answer', 'Created', 'Delivered / next', 'Last error'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, rows)))
      : empty(status ? `No ${status} deliveries.` : 'No deliveries yet. Press "Send a test" to send a ping, or send a webhook that changes a record.'),
    h('nav', { class: 'pager' },
      cursor ? h('a', { class: 'button quiet', href: href(subscription, status ? { status } : {}) }, '← Newest') : null,
      data.next_cursor ? h('a', { class: 'button quiet', href: href(subscription, older) }, 'Older →') : null));
}

function attempts(list) {
  if (!list.length) return h('p', { class: 'muted' }, 'Not attempted yet.');
  return h('div', { class: 'table-wrap' }, h('table', { id: 'attempt-table' },
    h('thead', null, h('tr', null, ['Attempt', 'Started', 'Answer', 'Duration', 'Error', 'Log row'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, list.map((a) => h('tr', { class: a.error ? 'failed' : null },
      h('td', { class: 'num' }, fmt.number(a.attempt)),
      h('td', null, when(a.started_at)),
      h('td', null, a.status_code === null ? statusBadge(0) : statusBadge(a.status_code)),
      h('td', { class: 'num' }, fmt.ms(a.duration_ms)),
      h('td', { class: 'wrap' }, a.error || ''),
      h('td', null, a.log_id ? h('a', { href: `#/logs/${a.log_id}` }, `#${a.log_id}`) : '—'))))));
}

/** Reads the delivery until it has more than `attempts` attempts (at most ~10 s). */
export async function nextAttempt(id, attempts) {
  for (let i = 0; i < 20; i += 1) {
    const { data } = await api(`${BASE}/${id}`);
    if (data.attempts > attempts || data.status === 'cancelled') return data;
    await new Promise((resolve) => { setTimeout(resolve, 500); });
  }
  return null;
}

export async function detail(root, id, outcome = '') {
  const { data: d } = await api(`${BASE}/${encodeURIComponent(id)}`);
  const subscription = d.subscription_id;
  const problem = h('p', { class: 'error', role: 'alert' });
  const again = () => detail(root, id);
  const retry = d.status === 'cancelled' ? null : actionButton('Retry now', async () => {
    await api(`${BASE}/${d.id}/retry`, { method: 'POST' });
    const after = await nextAttempt(d.id, d.attempts);
    const said = after ? `Attempt ${after.attempts}: ${after.status}${after.last_error ? ` (${after.last_error})` : ''}.` : 'Queued; no attempt was made yet. Refresh in a moment.';
    await detail(root, id, said);
  }, { id: 'retry-delivery', message: problem });
  root.replaceChildren(
    h('p', null, h('a', { href: `#/subscriptions/${subscription}` }, `← Subscription ${subscription}`)),
    h('h1', null, `Delivery ${d.id}`, statusOf(d)),
    panel('Summary', fields([
      ['Event', d.event], ['webhook-id', h('code', null, d.event_id)], ['Attempts', fmt.number(d.attempts)],
      ['Last answer', d.last_status_code === null ? null : String(d.last_status_code)], ['Last error', d.last_error],
      ['Next attempt', when(d.next_attempt_at)], ['Created', when(d.created_at)], ['Delivered', when(d.delivered_at)],
    ]),
    h('div', { class: 'actions' }, retry, actionButton('Refresh', again, { class: 'quiet', message: problem })),
    h('p', { role: 'status', id: 'retry-result' }, outcome), problem),
    panel('Attempts', attempts(d.attempt_history)),
    panel('Body', h('pre', { class: 'body', id: 'delivery-payload', tabindex: 0 }, pretty(d.payload))));
}
