// Subscriptions: the systems told about every change in the CRM. The list, a form to create one
// (with a checklist of event types), and one subscription: its signing secret shown once (after
// create or rotate, never fetched again by this page), disable/enable, rotate, send a test,
// requeue its dead deliveries, delete, and its deliveries (deliveries.js).

import { api } from './api.js';
import * as deliveries from './deliveries.js';
import { actionButton, copyButton, empty, fields, fromLocalInput, h, panel, toLocalInput, when } from './dom.js';

const BASE = '/api/v1/webhooks/subscriptions';
/** The outgoing event types, listed by the server on the page (`lead.created`, …). */
const EVENT_TYPES = (document.documentElement.dataset.events || '').split(' ').filter(Boolean);
const DAY = 24 * 3600 * 1000;
const GROUPS = { pre_lead: 'Pre-leads', lead: 'Leads', customer: 'Customers' };

/** A secret to show once: set by create and rotate, shown by the next render of its subscription. */
let fresh = null;

function stateBadge(sub) {
  if (sub.disabled) return h('span', { class: 'badge bad' }, 'disabled');
  if (sub.failing_since) return h('span', { class: 'badge warn' }, 'failing');
  return h('span', { class: 'badge ok' }, 'active');
}

function eventsText(sub) {
  return sub.events ? sub.events.join(', ') : 'every event type';
}

async function list(root, params) {
  const { data } = await api(BASE, { params: { limit: 50, cursor: params.get('cursor') || undefined } });
  const create = h('a', { class: 'button', href: '#/subscriptions/new', id: 'new-subscription' }, 'New subscription');
  const more = data.next_cursor ? h('a', { class: 'button quiet', href: `#/subscriptions?cursor=${encodeURIComponent(data.next_cursor)}` }, 'Older →') : null;
  root.replaceChildren(
    h('h1', null, 'Subscriptions'),
    h('div', { class: 'toolbar' }, create),
    data.items.length
      ? h('div', { class: 'table-wrap' }, h('table', { id: 'subscription-table' },
        h('thead', null, h('tr', null, ['#', 'State', 'URL', 'Events', 'Created'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, data.items.map((sub) => h('tr', null,
          h('td', null, h('a', { href: `#/subscriptions/${sub.id}` }, String(sub.id))),
          h('td', null, stateBadge(sub)),
          h('td', { class: 'wrap' }, h('a', { href: `#/subscriptions/${sub.id}` }, sub.url), sub.description ? h('div', { class: 'muted' }, sub.description) : null),
          h('td', { class: 'wrap' }, eventsText(sub)),
          h('td', null, when(sub.created_at)))))))
      : empty('No subscriptions yet. Create one to have a URL of yours told about every change in the CRM (a lead created, a status changed, an order recorded), each delivery signed with the subscription\'s own secret.'),
    h('nav', { class: 'pager' }, params.get('cursor') ? h('a', { class: 'button quiet', href: '#/subscriptions' }, '← Newest') : null, more));
}

function checklist() {
  const groups = new Map();
  for (const type of EVENT_TYPES) {
    const record = type.split('.')[0];
    if (!groups.has(record)) groups.set(record, []);
    groups.get(record).push(type);
  }
  const every = h('input', { type: 'radio', name: 'scope', value: 'all', checked: true });
  const some = h('input', { type: 'radio', name: 'scope', value: 'some' });
  const boxes = h('fieldset', { class: 'checks', id: 'event-types', disabled: true },
    h('legend', { class: 'sr-only' }, 'Event types'),
    [...groups].map(([record, types]) => h('div', { class: 'check-group' },
      h('strong', null, GROUPS[record] || record),
      types.map((type) => h('label', null, h('input', { type: 'checkbox', name: 'events', value: type }), type)))));
  const toggle = () => { boxes.disabled = every.checked; };
  every.addEventListener('change', toggle);
  some.addEventListener('change', toggle);
  return h('fieldset', { class: 'events' }, h('legend', null, 'Events'),
    h('label', { class: 'inline' }, every, 'Every event type, including types added later'),
    h('label', { class: 'inline' }, some, 'Only these:'), boxes);
}

function createForm(root) {
  const message = h('p', { class: 'error', role: 'alert', id: 'create-error' });
  const submit = h('button', { type: 'submit' }, 'Create subscription');
  const form = h('form', { class: 'panel form', id: 'subscription-form' },
    h('label', null, 'URL that receives the deliveries', h('input', { name: 'url', type: 'url', required: true, placeholder: 'https://erp.example.com/hooks/crm', autocomplete: 'off' })),
    h('label', null, 'Description (optional)', h('input', { name: 'description', autocomplete: 'off', placeholder: 'ERP order sync' })),
    checklist(), message,
    h('div', { class: 'actions' }, submit, h('a', { class: 'button quiet', href: '#/subscriptions' }, 'Cancel')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    const body = { url: form.elements.url.value.trim() };
    if (form.elements.description.value.trim()) body.description = form.elements.description.value.trim();
    if (form.elements.scope.value === 'some') {
      body.events = [...form.querySelectorAll('input[name=events]:checked')].map((box) => box.value);
      if (!body.events.length) {
        message.textContent = 'Tick at least one event type, or choose every event type.';
        return;
      }
    }
    submit.disabled = true;
    try {
      const { data } = await api(BASE, { method: 'POST', body });
      fresh = { id: data.id, secret: data.secret, rotated: false };
      window.location.hash = `#/subscriptions/${data.id}`;
    } catch (err) {
      message.textContent = err.message;
    } finally {
      submit.disabled = false;
    }
  });
  root.replaceChildren(h('p', null, h('a', { href: '#/subscriptions' }, '← Subscriptions')), h('h1', null, 'New subscription'), form);
  form.elements.url.focus();
}

function secretPanel(id) {
  if (!fresh || fresh.id !== id) return null;
  const { secret, rotated } = fresh;
  fresh = null;
  return h('section', { class: 'panel callout', id: 'new-secret' },
    h('h2', null, rotated ? 'New signing secret' : 'Signing secret'),
    h('p', null, 'Copy it now: this page shows it only this once. The receiver checks each delivery\'s webhook-signature header with it (Standard Webhooks).',
      rotated ? ' The previous secret also signs for the next 24 hours, so the receiver can switch over.' : ''),
    h('p', { class: 'secret', id: 'secret-value' }, secret), copyButton(secret, 'Copy secret'));
}

function recoverForm(id, done) {
  const since = h('input', { name: 'since', type: 'datetime-local', value: toLocalInput(new Date(Date.now() - DAY).toISOString()), required: true });
  const message = h('p', { class: 'error', role: 'alert' });
  const form = h('form', { class: 'toolbar', id: 'recover-form' },
    h('label', null, 'Dead deliveries created since', since), h('button', { type: 'submit', class: 'quiet' }, 'Try them again'), message);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    try {
      const { data } = await api(`${BASE}/${id}/recover`, { method: 'POST', body: { since: fromLocalInput(since.value) } });
      await done(data.requeued === 1 ? '1 dead delivery is queued again.' : `${data.requeued} dead deliveries are queued again.`);
    } catch (err) {
      message.textContent = err.message;
    }
  });
  return form;
}

function testOutcome(delivery, waiting = 'no attempt yet') {
  const link = h('a', { href: `#/subscriptions/deliveries/${delivery.id}` }, `Test delivery ${delivery.id}`);
  if (delivery.status === 'delivered') return [link, `: delivered, the receiver answered HTTP ${delivery.last_status_code}.`];
  const why = delivery.last_error || (delivery.last_status_code ? `HTTP ${delivery.last_status_code}` : waiting);
  return [link, `: ${delivery.status} (${why}).`, delivery.next_attempt_at && delivery.attempts > 0 ? [' Next attempt ', when(delivery.next_attempt_at), '.'] : ''];
}

async function detail(root, id, params) {
  const { data: sub } = await api(`${BASE}/${id}`);
  const result = h('p', { role: 'status', id: 'subscription-result' });
  const problem = h('p', { class: 'error', role: 'alert' });
  const shown = h('div', { id: 'subscription-deliveries' });
  const reloadDeliveries = async () => shown.replaceChildren(await deliveries.table(sub.id, params));
  const rerender = () => detail(root, id, params);
  const say = async (...text) => {
    await reloadDeliveries();
    result.replaceChildren(...text);
  };
  const remove = actionButton('Delete…', async () => {
    remove.replaceWith(h('span', { class: 'confirm' }, 'Delete this subscription and cancel its pending deliveries? ',
      actionButton('Delete', async () => {
        await api(`${BASE}/${sub.id}`, { method: 'DELETE' });
        window.location.hash = '#/subscriptions';
      }, { class: 'danger', id: 'confirm-delete', message: problem }),
      ' ', h('button', { type: 'button', class: 'quiet', onclick: rerender }, 'Keep it')));
  }, { class: 'danger', id: 'delete-subscription' });
  root.replaceChildren(
    h('p', null, h('a', { href: '#/subscriptions' }, '← Subscriptions')),
    h('h1', null, `Subscription ${sub.id}`, stateBadge(sub)),
    secretPanel(sub.id),
    h('div', { class: 'grid-2' }, panel('Settings', fields([
      ['URL', sub.url], ['Description', sub.description], ['Events', eventsText(sub)],
      ['Disabled by the service', sub.disabled_reason], ['Failing since', when(sub.failing_since)],
      ['Created', when(sub.created_at)], ['Changed', when(sub.updated_at)],
    ])),
    panel('Actions',
      h('div', { class: 'actions', id: 'subscription-actions' },
        actionButton('Send a test', async () => {
          result.textContent = 'Sending a ping…';
          const { data } = await api(`${BASE}/${sub.id}/test`, { method: 'POST' });
          if (data.attempts === 0) {
            // 202: the receiver has not answered within the server's wait; its answer is read here.
            await say(...testOutcome(data, 'waiting for the receiver'));
            await say(...testOutcome((await deliveries.nextAttempt(data.id, 0)) || data, 'the receiver has not answered yet'));
          } else {
            await say(...testOutcome(data));
          }
        }, { id: 'send-test', message: problem }),
        actionButton(sub.disabled ? 'Enable' : 'Disable', async () => {
          await api(`${BASE}/${sub.id}`, { method: 'PATCH', body: { disabled: !sub.disabled } });
          await rerender();
        }, { class: 'quiet', id: 'toggle-disabled', message: problem }),
        actionButton('Rotate secret', async () => {
          const { data } = await api(`${BASE}/${sub.id}/rotate-secret`, { method: 'POST', body: {} });
          fresh = { id: sub.id, secret: data.secret, rotated: true };
          await rerender();
        }, { class: 'quiet', id: 'rotate-secret', message: problem }),
        remove),
      result, problem,
      recoverForm(sub.id, say))),
    panel('Deliveries', shown));
  await reloadDeliveries();
}

export async function render(root, route) {
  const [id, deliveryId] = route.parts;
  if (id === 'new') createForm(root);
  else if (id === 'deliveries' && deliveryId) await deliveries.detail(root, deliveryId);
  else if (id) await detail(root, id, route.params);
  else await list(root, route.params);
}
