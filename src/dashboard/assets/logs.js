// Logs: the filters of GET /logs, a table of rows, and one row's headers and bodies. Bodies are
// whatever the caller sent, so they are only ever shown as text.

import { api, ApiError } from './api.js';
import { actionButton, empty, fields, firstWebhook, fmt, fromLocalInput, h, panel, pretty, statusBadge, toLocalInput, when } from './dom.js';

const FILTERS = ['direction', 'is_successful', 'event', 'entity_type', 'entity_id', 'since', 'until'];
const PAGE_SIZE = 25;

function select(name, label, options, value) {
  return h('label', null, label, h('select', { name }, options.map(([v, text]) => h('option', { value: v, selected: v === value }, text))));
}

function filterForm(params) {
  const value = (name) => params.get(name) || '';
  const form = h('form', { class: 'filters', id: 'log-filters', role: 'search' },
    select('direction', 'Direction', [['', 'Any'], ['incoming', 'Incoming'], ['outgoing', 'Outgoing']], value('direction')),
    select('is_successful', 'Result', [['', 'Any'], ['true', 'Succeeded'], ['false', 'Failed']], value('is_successful')),
    h('label', null, 'Event', h('input', { name: 'event', value: value('event'), placeholder: 'new_lead', autocomplete: 'off' })),
    select('entity_type', 'Record type', [['', 'Any'], ['pre_lead', 'Pre-lead'], ['lead', 'Lead'], ['customer', 'Customer']], value('entity_type')),
    h('label', null, 'Record id', h('input', { name: 'entity_id', type: 'number', min: 1, value: value('entity_id') })),
    h('label', null, 'Since', h('input', { name: 'since', type: 'datetime-local', value: toLocalInput(value('since')) })),
    h('label', null, 'Until', h('input', { name: 'until', type: 'datetime-local', value: toLocalInput(value('until')) })),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply'), h('a', { href: '#/logs', class: 'button quiet' }, 'Clear')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const name of FILTERS) {
      let v = form.elements[name].value.trim();
      if (name === 'since' || name === 'until') v = fromLocalInput(v);
      if (v) next.set(name, v);
    }
    window.location.hash = `#/logs?${next}`;
  });
  return form;
}

function entityText(row) {
  return row.entity_type ? `${row.entity_type.replace('_', '-')} ${row.entity_id ?? ''}`.trim() : '—';
}

function table(items) {
  return h('div', { class: 'table-wrap' }, h('table', { id: 'log-table' },
    h('thead', null, h('tr', null, ['#', 'When', 'Direction', 'Event', 'Status', 'Record', 'Duration', 'Error'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, items.map((row) => h('tr', { 'data-id': row.id, class: row.is_successful ? null : 'failed' },
      h('td', null, h('a', { href: `#/logs/${row.id}`, 'aria-label': `Log row ${row.id}` }, String(row.id))),
      h('td', null, when(row.created_at)),
      h('td', null, row.direction),
      h('td', null, row.event || '—'),
      h('td', null, statusBadge(row.response_status)),
      h('td', null, entityText(row)),
      h('td', { class: 'num' }, fmt.ms(row.duration_ms)),
      h('td', { class: 'wrap' }, row.error_message || ''))))));
}

/**
 * A page of rows, by cursor (`next_cursor` of the page before, keyset: any depth costs the same).
 * `page` in the address only numbers the page for the reader; the server ignores it beside a cursor.
 */
async function list(root, params) {
  const filter = {};
  for (const name of FILTERS) if (params.get(name)) filter[name] = params.get(name);
  const cursor = params.get('cursor') || undefined;
  const page = cursor ? Math.max(2, Number(params.get('page')) || 2) : 1;
  const { data } = await api('/api/v1/webhooks/logs', { params: { ...filter, cursor, page_size: PAGE_SIZE } });
  const filtered = Object.keys(filter).length > 0;
  const newest = new URLSearchParams(filter);
  const older = new URLSearchParams(filter);
  if (data.next_cursor) {
    older.set('cursor', data.next_cursor);
    older.set('page', String(page + 1));
  }
  const total = data.total_capped ? `${fmt.number(data.total)}+` : fmt.number(data.total);
  const first = (page - 1) * PAGE_SIZE + 1;
  root.replaceChildren(
    h('h1', null, 'Logs'),
    filterForm(params),
    ...(data.items.length
      ? [table(data.items),
        h('nav', { class: 'pager', 'aria-label': 'Pages' },
          cursor ? h('a', { class: 'button quiet', href: `#/logs?${newest}`, id: 'logs-newest' }, '← Newest') : null,
          h('span', { class: 'muted', id: 'logs-range' }, `Rows ${fmt.number(first)}–${fmt.number(first + data.items.length - 1)} of ${total}`),
          data.next_cursor ? h('a', { class: 'button quiet', href: `#/logs?${older}`, id: 'logs-older' }, 'Older →') : null)]
      : filtered ? [empty('No log rows match these filters. Widen the time range or clear a filter.', h('a', { href: '#/logs' }, 'Clear the filters'))]
        : cursor ? [empty('No older rows.', h('a', { href: '#/logs' }, 'Back to the newest'))]
          : [empty('The log is empty.', firstWebhook())]));
}

function headersTable(headers) {
  const entries = Object.entries(headers || {});
  if (!entries.length) return h('p', { class: 'muted' }, 'No headers kept.');
  return h('table', { class: 'headers' }, h('tbody', null, entries.map(([name, value]) => h('tr', null, h('th', { scope: 'row' }, name), h('td', null, String(value))))));
}

function body(text, id) {
  return text ? h('pre', { class: 'body', id, tabindex: 0 }, pretty(text)) : h('p', { class: 'muted' }, 'Empty.');
}

/** Whether the server can run the row again: a failed incoming call that passed its signature check, body whole. */
function replayable(row) {
  return row.direction === 'incoming' && !row.is_successful && ![401, 408, 413].includes(row.response_status)
    && row.request_body !== null && row.request_body_bytes == null;
}

/** Runs the row again and shows the webhook's new answer, with a link to the replay's own row. */
function replayPanel(row) {
  const outcome = h('div', { id: 'replay-outcome', role: 'status' });
  const problem = h('p', { class: 'error', role: 'alert', id: 'replay-error' });
  const show = (status, body, newId) => outcome.replaceChildren(
    h('p', null, 'The webhook answered ', statusBadge(status), status >= 200 && status < 300 ? ' this time.' : ' again.',
      newId ? [' Its log row: ', h('a', { href: `#/logs/${newId}`, id: 'replay-row' }, `#${newId}`), '.'] : ''),
    h('pre', { class: 'body', id: 'replay-body', tabindex: 0 }, pretty(body)));
  const button = actionButton('Replay', async () => {
    try {
      const { data, headers, status } = await api(`/api/v1/webhooks/logs/${row.id}/replay`, { method: 'POST' });
      show(status, data, headers.get('X-Replay-Log-Id'));
    } catch (err) {
      const newId = err instanceof ApiError && err.headers ? err.headers.get('X-Replay-Log-Id') : null;
      if (!newId) throw err;
      show(err.status, err.data, newId);
    }
  }, { id: 'replay', message: problem });
  return panel('Replay',
    h('p', null, 'Run this request again as if it arrived now (the admin token stands in for its signature). A call refused because its record did not exist yet succeeds once the record exists.'),
    h('div', { class: 'actions' }, button), problem, outcome);
}

async function detail(root, id) {
  const { data: row } = await api(`/api/v1/webhooks/logs/${encodeURIComponent(id)}`);
  root.replaceChildren(
    h('p', null, h('a', { href: '#/logs' }, '← All logs')),
    h('h1', null, `Log row ${row.id}`, ' ', statusBadge(row.response_status)),
    replayable(row) ? replayPanel(row) : null,
    panel('Summary', fields([
      ['Direction', row.direction], ['Event', row.event], ['Source', row.source],
      ['Request', `${row.method} ${row.path}`], ['From', row.remote_addr],
      ['Succeeded', row.is_successful ? 'yes' : 'no'], ['Error', row.error_message],
      ['Record', entityText(row)], ['Idempotency key', row.idempotency_key],
      ['Replay of', row.replay_of ? h('a', { href: `#/logs/${row.replay_of}` }, `#${row.replay_of}`) : null],
      ['Duration', fmt.ms(row.duration_ms)], ['Received', when(row.created_at)], ['Processed', when(row.processed_at)],
    ])),
    panel('Request headers', headersTable(row.request_headers)),
    panel('Request body', body(row.request_body, 'request-body')),
    panel('Response body', body(row.response_body, 'response-body')));
}

export async function render(root, route) {
  if (route.parts[0]) await detail(root, route.parts[0]);
  else await list(root, route.params);
}
