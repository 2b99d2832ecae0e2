// Overview: how much arrived lately, how much failed, and the latest failures. Refreshes itself
// every 15 seconds while the tab is visible.

import { api, countLogs } from './api.js';
import { empty, firstWebhook, fmt, h, panel, stat, statusBadge, when } from './dom.js';

const REFRESH_MS = 15000;
const HOUR = 3600 * 1000;

function countText({ total, capped }) {
  return capped ? `${fmt.number(total)}+` : fmt.number(total);
}

async function figures() {
  const now = Date.now();
  const hourAgo = new Date(now - HOUR).toISOString();
  const dayAgo = new Date(now - 24 * HOUR).toISOString();
  const [hour, hourFailed, day, dayFailed, ever] = await Promise.all([
    countLogs({ direction: 'incoming', since: hourAgo }),
    countLogs({ direction: 'incoming', since: hourAgo, is_successful: false }),
    countLogs({ direction: 'incoming', since: dayAgo }),
    countLogs({ direction: 'incoming', since: dayAgo, is_successful: false }),
    countLogs({}),
  ]);
  return { hour, hourFailed, day, dayFailed, ever };
}

function failuresTable(items) {
  if (!items.length) return empty('No failed webhook calls. Refused calls (bad signature, unknown record, invalid field) appear here.');
  return h('div', { class: 'table-wrap' }, h('table', null,
    h('thead', null, h('tr', null, ['When', 'Event', 'Status', 'Error'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, items.map((row) => h('tr', null,
      h('td', null, h('a', { href: `#/logs/${row.id}` }, when(row.created_at))),
      h('td', null, row.event || '—'),
      h('td', null, statusBadge(row.response_status)),
      h('td', { class: 'wrap' }, row.error_message || '—'))))));
}

async function draw(root) {
  const [counts, failures] = await Promise.all([
    figures(),
    api('/api/v1/webhooks/logs', { params: { is_successful: false, page_size: 10 } }),
  ]);
  const updated = h('p', { class: 'muted' }, 'Updated ', when(new Date().toISOString()), '; refreshes every 15 seconds.');
  if (counts.ever.total === 0) {
    root.replaceChildren(h('h1', null, 'Overview'), panel('Getting started', firstWebhook()), updated);
    return;
  }
  const rate = (failed, all) => (all.total ? fmt.percent(failed.total / all.total) : '—');
  root.replaceChildren(
    h('h1', null, 'Overview'),
    h('div', { class: 'stats', id: 'overview-figures' },
      stat('Incoming, last hour', countText(counts.hour), `${countText(counts.hourFailed)} failed (${rate(counts.hourFailed, counts.hour)})`),
      stat('Incoming, last 24 hours', countText(counts.day), `${countText(counts.dayFailed)} failed (${rate(counts.dayFailed, counts.day)})`),
      stat('Log rows in all', countText(counts.ever))),
    panel('Latest failures', failuresTable(failures.data.items)),
    updated);
}

export async function render(root) {
  await draw(root);
  const timer = setInterval(() => {
    if (!document.hidden) draw(root).catch(() => {});
  }, REFRESH_MS);
  return () => clearInterval(timer);
}
