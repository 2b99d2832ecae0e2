// Pipeline: the funnel pre-lead → lead → customer with counts and conversion rates, leads and
// pre-leads by status, the open and won value of leads, customers' revenue and what is still
// outstanding (GET /stats/pipeline).

import { api } from './api.js';
import { barList, drawn, funnel } from './chart.js';
import { empty, firstWebhook, fmt, h, panel, stat } from './dom.js';

const LEAD_ORDER = ['new', 'contacted', 'qualified', 'proposal_sent', 'negotiation', 'won', 'lost'];
const PRE_LEAD_ORDER = ['new', 'contacted', 'working', 'qualified', 'on_hold', 'closed_not_converted', 'converted'];
const KIND = { won: 'ok', converted: 'ok', lost: 'bad', closed_not_converted: 'bad' };

function statusRows(byStatus, order) {
  const known = order.filter((status) => status in byStatus);
  const others = Object.keys(byStatus).filter((status) => !order.includes(status)).sort();
  return [...known, ...others].map((status) => ({ label: status.replace(/_/g, ' '), value: byStatus[status], kind: KIND[status] || 'muted' }));
}

function recordsLink(type, text) {
  return h('a', { href: `#/records?type=${type}` }, text);
}

export async function render(root) {
  const { data: p } = await api('/api/v1/stats/pipeline');
  if (p.pre_leads.total + p.leads.total + p.customers.total === 0) {
    root.replaceChildren(h('h1', null, 'Pipeline'),
      panel('No records yet', h('p', null, 'The funnel fills as webhooks create pre-leads (new_inquiry), leads (new_lead) and customers (lead_convert).'), firstWebhook()));
    return null;
  }
  const c = p.conversion;
  const charts = [
    drawn('funnel', (width) => funnel(
      [{ label: 'Pre-leads', count: p.pre_leads.total }, { label: 'Leads', count: p.leads.total }, { label: 'Customers', count: p.customers.total }],
      [c.pre_lead_to_lead, c.lead_to_customer], { width: Math.min(width, 720) })),
    drawn('leads-by-status', (width) => barList(statusRows(p.leads.by_status, LEAD_ORDER), { width, label: 'Leads by status' })),
    drawn('pre-leads-by-status', (width) => barList(statusRows(p.pre_leads.by_status, PRE_LEAD_ORDER), { width, label: 'Pre-leads by status' })),
  ];
  root.replaceChildren(
    h('h1', null, 'Pipeline'),
    h('div', { class: 'stats', id: 'pipeline-figures' },
      stat('Open value', fmt.money(p.leads.open_value), 'expected value of leads still open'),
      stat('Won value', fmt.money(p.leads.won_value), 'expected value of leads won'),
      stat('Revenue', fmt.money(p.customers.revenue), `${fmt.money(p.customers.outstanding)} outstanding`),
      stat('Pre-lead → customer', fmt.percent(c.pre_lead_to_customer), 'of all pre-leads')),
    panel('Funnel', charts[0], h('p', { class: 'muted' },
      recordsLink('pre_lead', fmt.count(p.pre_leads.total, 'pre-lead')), ` (${fmt.number(p.pre_leads.discarded)} discarded), `,
      recordsLink('lead', fmt.count(p.leads.total, 'lead')), ` (${fmt.number(p.leads.discarded)} discarded), `,
      recordsLink('customer', fmt.count(p.customers.total, 'customer')), '. Discarded records count in every rate.')),
    h('div', { class: 'grid-2' }, panel('Leads by status', charts[1]), panel('Pre-leads by status', charts[2])));
  for (const chart of charts) chart.redraw();
  const resize = () => charts.forEach((chart) => chart.redraw());
  window.addEventListener('resize', resize);
  return () => window.removeEventListener('resize', resize);
}
