// Building the page from data without ever parsing data as HTML: every value becomes a text
// node or an attribute set through the DOM, so log bodies (written by whoever calls the webhook)
// can never run as script. Formatting follows the browser's locale through Intl.

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

function apply(el, attrs) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (key === 'value' || key === 'checked' || key === 'disabled') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

/** An HTML element: `h('td', {class: 'num'}, text, …)`. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  apply(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, same calling convention. */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

const numberFormat = new Intl.NumberFormat();
const decimalFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const moneyFormat = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const percentFormat = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 1 });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

export const fmt = {
  number: (n) => (n === null || n === undefined ? '—' : numberFormat.format(n)),
  /** `1 request`, `2 requests` (English nouns; the number in the reader's locale). */
  count: (n, noun) => `${numberFormat.format(n)} ${noun}${n === 1 ? '' : 's'}`,
  decimal: (n) => (n === null || n === undefined ? '—' : decimalFormat.format(n)),
  /** Money arrives as a decimal string ("2500.00"); shown with the locale's separators. */
  money: (text) => (text === null || text === undefined ? '—' : moneyFormat.format(Number(text))),
  percent: (fraction) => (fraction === null || fraction === undefined ? '—' : percentFormat.format(fraction)),
  ms: (n) => (n === null || n === undefined ? '—' : `${decimalFormat.format(n)} ms`),
  dateTime: (iso) => (iso ? dateTimeFormat.format(new Date(iso)) : '—'),
  time: (iso) => timeFormat.format(new Date(iso)),
};

/** A `<time>` element showing a date-time in the reader's locale, with the UTC value kept. */
export function when(iso) {
  return iso ? h('time', { datetime: iso, title: iso }, fmt.dateTime(iso)) : '—';
}

/** JSON text re-indented for reading; anything else as it came. */
export function pretty(text) {
  if (text === null || text === undefined || text === '') return '';
  if (typeof text !== 'string') return JSON.stringify(text, null, 2);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** A status code as a coloured badge. */
export function statusBadge(status) {
  const kind = status >= 200 && status < 300 ? 'ok' : status >= 500 || status === 0 ? 'bad' : 'warn';
  return h('span', { class: `badge ${kind}` }, status === 0 ? 'no answer' : String(status));
}

/** A titled section with a heading. */
export function panel(title, ...children) {
  return h('section', { class: 'panel' }, h('h2', null, title), ...children);
}

/** A message for an empty list that says what to do next. */
export function empty(message, ...more) {
  return h('div', { class: 'empty' }, h('p', null, message), ...more);
}

/** A labelled figure for a row of key numbers. */
export function stat(label, value, note) {
  return h('div', { class: 'stat' }, h('span', { class: 'label' }, label), h('strong', null, value), note ? h('span', { class: 'note' }, note) : null);
}

/** A copy-to-clipboard button for `text`. */
export function copyButton(text, label = 'Copy') {
  const button = h('button', { type: 'button', class: 'quiet' }, label);
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Select and copy by hand';
    }
  });
  return button;
}

/** A definition list of `[label, value]` pairs, skipping nothing: empty values show a dash. */
export function fields(pairs) {
  return h('dl', { class: 'fields' }, pairs.map(([label, value]) => [h('dt', null, label), h('dd', null, value === null || value === undefined || value === '' ? '—' : value)]));
}

/** The curl that sends a first webhook to this server (shown when there is no data yet). */
export function firstWebhook() {
  const origin = window.location.origin;
  const command = [
    `curl -sS -X POST ${origin}/api/v1/webhooks/incoming/lead/create \\`,
    `  -H "Content-Type: application/json" \\`,
    `  -H @<(crm-webhooks sign lead.json) \\`,
    `  --data-binary @lead.json`,
  ].join('\n');
  const body = '{"event": "new_lead", "source": "test", "data": {"first_name": "Test", "email": "test@example.com", "company_name": "Test Company"}}';
  return h('div', { class: 'first-webhook' },
    h('p', null, 'Nothing has arrived yet. Save a first lead as lead.json:'),
    h('pre', null, body), copyButton(body, 'Copy JSON'),
    h('p', null, 'and send it signed (without CRM_WEBHOOK_SECRET the signature headers are not needed):'),
    h('pre', null, command), copyButton(command, 'Copy command'));
}

/**
 * A button that runs `work()` when pressed: disabled meanwhile, and whatever `work` throws is
 * shown in `message` (an element with role=alert) instead of escaping as an unhandled error.
 */
export function actionButton(label, work, { message, ...attrs } = {}) {
  const button = h('button', { type: 'button', ...attrs }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    if (message) message.textContent = '';
    try {
      await work();
    } catch (err) {
      if (message) message.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

/** The value of a `datetime-local` input as RFC 3339 UTC, or '' when it is blank. */
export function fromLocalInput(value) {
  return value ? new Date(value).toISOString() : '';
}

/** An RFC 3339 time as the value of a `datetime-local` input, in the browser's time zone. */
export function toLocalInput(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}
