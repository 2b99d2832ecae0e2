// Overview: requests per minute over the last hour or day (GET /stats/traffic), failures by
// status, p50/p99, the events and sources that fail most, delivery success and the queue, and the
// latest failed calls. Refreshes itself every 15 seconds while the tab is visible, and redraws its
// charts to the new width when the window is resized.

import { api } from './api.js';
import { barList, drawn, requestChart } from './chart.js';
import { empty, firstWebhook, fmt, h, panel, stat, statusBadge, when } from './dom.js';

const REFRESH_MS = 15000;
const MINUTE = 60 * 1000;
const RANGES = { hour: { label: 'Last hour', minutes: 60 }, day: { label: 'Last 24 hours', minutes: 1440 } };
const DIRECTIONS = { incoming: 'Incoming calls', outgoing: 'Outgoing attempts', '': 'Both' };

/** The last `minutes` whole minutes, the current one included (at most 1,440 buckets). */
function traffic(range, direction) {
  const current = Math.floor(Date.now() / MINUTE) * MINUTE;
  const since = new Date(current - (RANGES[range].minutes - 1) * MINUTE).toISOString();
  return api('/api/v1/stats/traffic', { params: { since, bucket: 'minute', direction } });
}

function choice(name, options, current, params) {
  return h('nav', { class: 'segmented', 'aria-label': name }, Object.entries(options).map(([value, text]) => {
    const next = new URLSearchParams(params);
    next.set(name, value);
    return h('a', { class: 'button quiet', href: `#/overview?${next}`, 'aria-current': value === current ? 'page' : null }, typeof text === 'string' ? text : text.label);
  }));
}

function failingList(named, what) {
  const rows = named.filter((n) => n.failed > 0).sort((a, b) => b.failed - a.failed).slice(0, 6);
  if (!rows.length) return () => empty(`No ${what} failed in this range.`);
  return (width) => barList(rows.map((n) => ({ label: n.name || '(none)', value: n.failed, kind: 'bad', text: `${fmt.number(n.failed)} of ${fmt.number(n.requests)}` })), { width, label: `Most failing ${what}` });
}

function statusList(byStatus) {
  const rows = Object.entries(byStatus).filter(([code]) => !code.startsWith('2')).map(([code, n]) => ({
    label: code === '0' ? 'no answer' : `HTTP ${code}`, value: n, kind: code === '0' || code.startsWith('5') ? 'bad' : 'muted',
  }));
  if (!rows.length) return () => empty('No failures in this range.');
  return (width) => barList(rows, { width, label: 'Failures by status' });
}

function failuresTable(items) {
  if (!items.length) return empty('No failed webhook calls. Refused calls (bad signature, unknown record, invalid field) appear here.');
  return h('div', { class: 'table-wrap' }, h('table', { id: 'latest-failures' },
    h('thead', null, h('tr', null, ['When', 'Event', 'Status', 'Error'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, items.map((row) => h('tr', null,
      h('td', null, h('a', { href: `#/logs/${row.id}` }, when(row.created_at))),
      h('td', null, row.event || '—'),
      h('td', null, statusBadge(row.response_status)),
      h('td', { class: 'wrap' }, row.error_message || '—'))))));
}

async function draw(root, params) {
  const range = RANGES[params.get('range')] ? params.get('range') : 'hour';
  const direction = params.has('direction') && params.get('direction') in DIRECTIONS ? params.get('direction') : 'incoming';
  const [{ data: t }, failures, ever] = await Promise.all([
    traffic(range, direction),
    api('/api/v1/webhooks/logs', { params: { is_successful: false, page_size: 8 } }),
    api('/api/v1/webhooks/logs', { params: { page_size: 1 } }),
  ]);
  const updated = h('p', { class: 'muted' }, 'Updated ', when(new Date().toISOString()), '; refreshes every 15 seconds.');
  if (ever.data.total === 0) {
    root.replaceChildren(h('h1', null, 'Overview'), panel('Getting started', firstWebhook()), updated);
    return [];
  }
  const totals = t.totals;
  const d = t.deliveries;
  const finished = d.delivered + d.dead;
  const chartLabel = `Requests per minute, ${RANGES[range].label.toLowerCase()}`;
  const charts = [
    drawn('traffic-chart', (width) => requestChart(t.buckets, { width, label: chartLabel })),
    drawn('failures-by-status', statusList(totals.by_status)),
    drawn('failing-events', failingList(t.by_event, 'events')),
    drawn('failing-sources', failingList(t.by_source, 'sources')),
  ];
  root.replaceChildren(
    h('h1', null, 'Overview'),
    h('div', { class: 'toolbar' }, choice('range', RANGES, range, params), choice('direction', DIRECTIONS, direction, params)),
    h('div', { class: 'stats', id: 'overview-figures' },
      stat(`Requests, ${RANGES[range].label.toLowerCase()}`, fmt.number(totals.requests), `${fmt.number(totals.failed)} failed (${totals.requests ? fmt.percent(totals.failed / totals.requests) : '—'})`),
      stat('Duration p50 / p99', `${fmt.ms(totals.p50_ms)} / ${fmt.ms(totals.p99_ms)}`, 'approximate'),
      stat('Delivery success', finished ? fmt.percent(d.delivered / finished) : '—', `${fmt.number(d.delivered)} delivered, ${fmt.number(d.dead)} dead`),
      stat('Delivery queue', fmt.number(t.queue_depth), 'pending now')),
    panel(chartLabel, charts[0], h('p', { class: 'legend muted' }, h('span', { class: 'key ok' }), ' succeeded ', h('span', { class: 'key bad' }), ' failed')),
    h('div', { class: 'grid-2' }, panel('Failures by status', charts[1]), panel('Deliveries created in this range', deliveryFigures(t))),
    h('div', { class: 'grid-2' }, panel('Most failing events', charts[2]), panel('Most failing sources', charts[3])),
    panel('Latest failures', failuresTable(failures.data.items)),
    updated);
  for (const chart of charts) chart.redraw();
  return charts;
}

function deliveryFigures(t) {
  const counts = Object.entries(t.deliveries);
  if (!counts.some(([, n]) => n > 0)) return empty('No deliveries in this range. Subscriptions send one for every change.', h('a', { href: '#/subscriptions' }, 'Subscriptions'));
  return h('dl', { class: 'fields', id: 'delivery-figures' }, counts.map(([status, n]) => [h('dt', null, status), h('dd', null, fmt.number(n))]));
}

export async function render(root, route) {
  let charts = await draw(root, route.params);
  const timer = setInterval(() => {
    if (!document.hidden) draw(root, route.params).then((drawnCharts) => { charts = drawnCharts; }).catch(() => {});
  }, REFRESH_MS);
  const resize = () => charts.forEach((chart) => chart.redraw());
  window.addEventListener('resize', resize);
  return () => {
    clearInterval(timer);
    window.removeEventListener('resize', resize);
  };
}
