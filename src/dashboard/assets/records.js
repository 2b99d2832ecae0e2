// Records: search and list pre-leads, leads and customers; a record's fields, what hangs off it,
// its possible duplicates and the links between a pre-lead, its lead and its customer.

import { api } from './api.js';
import { actionButton, empty, fields, fmt, h, panel, pretty, when } from './dom.js';

export const TYPES = {
  pre_lead: { path: 'pre-leads', label: 'Pre-leads', one: 'Pre-lead' },
  lead: { path: 'leads', label: 'Leads', one: 'Lead' },
  customer: { path: 'customers', label: 'Customers', one: 'Customer' },
};
const MONEY = new Set(['expected_value', 'budget', 'credit_limit', 'total_revenue', 'total_paid', 'outstanding_amount', 'amount', 'order_value']);
const LINKS = [['pre_lead_id', 'pre_lead'], ['lead_id', 'lead'], ['customer_id', 'customer']];

export function recordHref(type, id) {
  return `#/records/${type}/${id}`;
}

function nameOf(record) {
  const person = [record.first_name, record.last_name].filter(Boolean).join(' ');
  return person || record.name || record.company_name || record.customer_code || `#${record.id}`;
}

function value(key, v) {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (MONEY.has(key)) return fmt.money(v);
  if (/(_at|_date)$/.test(key) && typeof v === 'string' && v.includes('T')) return when(v);
  if (typeof v === 'number') return fmt.number(v);
  return String(v);
}

function search(params) {
  const type = TYPES[params.get('type')] ? params.get('type') : 'lead';
  const q = h('input', { name: 'q', type: 'search', value: params.get('q') || '', placeholder: 'e-mail, phone, last name or company', 'aria-label': 'Search' });
  const dup = h('input', { type: 'checkbox', name: 'has_duplicates', checked: params.get('has_duplicates') === 'true' });
  const form = h('form', { class: 'toolbar', id: 'record-search', role: 'search' },
    h('nav', { class: 'segmented', 'aria-label': 'Record type' }, Object.entries(TYPES).map(([key, t]) =>
      h('a', { class: 'button quiet', href: `#/records?type=${key}`, 'aria-current': key === type ? 'page' : null }, t.label))),
    h('label', { class: 'grow' }, 'Search', q),
    h('label', { class: 'inline' }, dup, 'With possible duplicates'),
    h('button', { type: 'submit' }, 'Search'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams({ type });
    if (q.value.trim()) next.set('q', q.value.trim());
    if (dup.checked) next.set('has_duplicates', 'true');
    window.location.hash = `#/records?${next}`;
  });
  return { form, type };
}

async function list(root, params) {
  const { form, type } = search(params);
  const query = { limit: 25, cursor: params.get('cursor') || undefined, q: params.get('q') || undefined, has_duplicates: params.get('has_duplicates') || undefined };
  const { data } = await api(`/api/v1/${TYPES[type].path}`, { params: query });
  const status = (r) => r.lead_status || (r.is_discarded ? 'discarded' : '—');
  const more = new URLSearchParams(params);
  if (data.next_cursor) more.set('cursor', data.next_cursor);
  const first = new URLSearchParams(params);
  first.delete('cursor');
  root.replaceChildren(
    h('h1', null, 'Records'), form,
    ...(data.items.length
      ? [h('div', { class: 'table-wrap' }, h('table', { id: 'record-table' },
        h('thead', null, h('tr', null, ['#', 'Name', 'Company', 'E-mail', 'Phone', type === 'customer' ? 'Revenue' : 'Status', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, data.items.map((r) => h('tr', null,
          h('td', null, h('a', { href: recordHref(type, r.id) }, String(r.id))),
          h('td', null, h('a', { href: recordHref(type, r.id) }, nameOf(r))),
          h('td', null, r.company_name || '—'), h('td', null, r.email || '—'), h('td', null, r.phone || '—'),
          h('td', null, type === 'customer' ? fmt.money(r.total_revenue) : status(r)),
          h('td', null, when(r.created_at))))))),
      h('nav', { class: 'pager' },
        params.get('cursor') ? h('a', { class: 'button quiet', href: `#/records?${first}` }, '← Newest') : null,
        data.next_cursor ? h('a', { class: 'button quiet', href: `#/records?${more}` }, 'Older →') : null)]
      : [params.get('q') || params.get('has_duplicates')
        ? empty('Nothing matches. The search matches the start of an e-mail, last name, company or phone number.')
        : empty(`No ${TYPES[type].label.toLowerCase()} yet. They appear here as webhooks create them.`)]));
}

function childTable(title, rows, columns, id) {
  if (!rows || !rows.length) return null;
  return panel(title, h('div', { class: 'table-wrap' }, h('table', { id },
    h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col' }, c.replace(/_/g, ' '))))),
    h('tbody', null, rows.map((row) => h('tr', null, columns.map((c) => h('td', { class: 'wrap' }, value(c, row[c])))))))));
}

const KINDS = { status_change: 'status', contact: 'contact', memo: 'memo', activity: 'activity', profile: 'profile', order: 'order', payment: 'payment', webhook: 'webhook', delivery: 'delivery' };

function timelineItem(item) {
  const ref = item.ref || {};
  const link = ref.type === 'log' ? `#/logs/${ref.id}` : ref.type === 'delivery' ? `#/subscriptions/deliveries/${ref.id}` : null;
  const bad = item.kind === 'webhook' && / answered (?!2\d\d)/.test(item.summary);
  return h('li', null, when(item.at), h('span', null, h('span', { class: ['badge kind', bad ? 'bad' : ''] }, KINDS[item.kind] || item.kind)),
    h('span', null, link ? h('a', { href: link }, item.summary) : item.summary));
}

/** The record's timeline, newest first, a page at a time. */
async function timeline(base) {
  const list = h('ol', { class: 'timeline', id: 'timeline' });
  const more = h('div', { class: 'actions' });
  const problem = h('p', { class: 'error', role: 'alert' });
  const load = async (cursor) => {
    const { data } = await api(`${base}/timeline`, { params: { order: 'desc', limit: 25, cursor } });
    list.append(...data.items.map(timelineItem));
    more.replaceChildren(data.next_cursor ? actionButton('Older', () => load(data.next_cursor), { class: 'quiet', id: 'timeline-older', message: problem }) : '');
    if (!list.children.length) list.replaceWith(empty('Nothing has happened to this record yet.'));
  };
  await load();
  return panel('Timeline', list, more, problem);
}

async function detail(root, type, id) {
  if (!TYPES[type]) throw new Error(`Unknown record type ${type}`);
  const base = `/api/v1/${TYPES[type].path}/${encodeURIComponent(id)}`;
  const [{ data: record }, history] = await Promise.all([api(base), timeline(base)]);
  const scalars = Object.entries(record).filter(([k, v]) => k !== 'raw_payload' && (v === null || typeof v !== 'object'));
  const links = LINKS.filter(([key, t]) => t !== type && record[key]).map(([key, t]) => h('li', null, h('a', { href: recordHref(t, record[key]) }, `${TYPES[t].one} ${record[key]}`)));
  const duplicates = record.possible_duplicates || [];
  root.replaceChildren(
    h('p', null, h('a', { href: `#/records?type=${type}` }, `← ${TYPES[type].label}`)),
    h('h1', null, `${TYPES[type].one} ${record.id}: ${nameOf(record)}`, record.lead_status ? h('span', { class: 'badge' }, record.lead_status) : null),
    h('div', { class: 'grid-2' },
      panel('Linked records', links.length ? h('ul', { id: 'record-links' }, links) : h('p', { class: 'muted' }, 'Not converted from or to another record.')),
      panel('Possible duplicates', duplicates.length
        ? h('ul', { id: 'duplicates' }, duplicates.map((d) => h('li', null, h('a', { href: recordHref(d.entity_type, d.id) }, `${TYPES[d.entity_type]?.one || d.entity_type} ${d.id}`), ` (same ${d.matched_on})`)))
        : h('p', { class: 'muted' }, 'None found by e-mail or phone.'))),
    history,
    childTable('Status history', record.status_history, ['created_at', 'old_status', 'new_status', 'remarks', 'event'], 'status-history'),
    panel('Fields', fields(scalars.map(([k, v]) => [k.replace(/_/g, ' '), value(k, v)]))),
    childTable('Contacts', record.contacts, ['first_name', 'last_name', 'email', 'phone', 'designation', 'is_primary']),
    childTable('Memos', record.memos, ['created_at', 'memo_type', 'title', 'content']),
    childTable('Activities', record.activities, ['activity_type', 'title', 'scheduled_at', 'completed_at', 'outcome']),
    childTable('Orders', record.orders, ['order_id', 'amount', 'order_date']),
    childTable('Payments', record.payments, ['payment_id', 'amount', 'payment_date']),
    record.qualified_profile ? panel('Qualified profile', fields(Object.entries(record.qualified_profile).map(([k, v]) => [k.replace(/_/g, ' '), value(k, v)]))) : null,
    record.raw_payload ? panel('Last payload', h('pre', { class: 'body' }, pretty(record.raw_payload))) : null);
}

export async function render(root, route) {
  if (route.parts.length >= 2) await detail(root, route.parts[0], route.parts[1]);
  else await list(root, route.params);
}
