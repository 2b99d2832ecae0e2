// Charts as inline SVG, drawn at the pixel width of the box they go into (so text keeps its size
// on a phone). Colours come from the stylesheet's classes, so light and dark mode both apply.
// Every chart carries a text alternative (`role="img"` with an aria-label).

import { fmt, h, s } from './dom.js';

/**
 * A box whose content `draw(width)` makes for the box's width in pixels; its `redraw()` draws it
 * again (call it once the box is in the page, and on resize).
 */
export function drawn(id, draw) {
  const box = h('div', { class: 'drawn', id });
  box.redraw = () => box.replaceChildren(draw(Math.floor(box.clientWidth) || 600));
  return box;
}

/** Whole-number axis ticks from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten. */
function ticksFor(max) {
  const rough = Math.max(max, 1) / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * power).find((v) => v >= rough));
  const top = Math.max(step, Math.ceil(max / step) * step);
  return Array.from({ length: top / step + 1 }, (_, i) => i * step);
}

/**
 * Requests per bucket as bars, failures stacked in red on top of the successes.
 * `buckets`: `[{start, requests, failed}]` of one length each, oldest first.
 */
export function requestChart(buckets, { width, height = 220, label }) {
  const pad = { left: 44, right: 8, top: 10, bottom: 24 };
  const plotW = Math.max(width - pad.left - pad.right, 10);
  const plotH = height - pad.top - pad.bottom;
  const ticks = ticksFor(Math.max(0, ...buckets.map((b) => b.requests)));
  const max = ticks[ticks.length - 1];
  const y = (n) => pad.top + plotH - (n / max) * plotH;
  const step = plotW / Math.max(buckets.length, 1);
  const bar = Math.max(step - (step > 4 ? 1 : 0), 0.5);
  const rects = (value, base) => buckets.map((b, i) => {
    const top = value(b) + base(b);
    if (value(b) <= 0) return '';
    const x = pad.left + i * step;
    return `M${x.toFixed(2)} ${y(top).toFixed(2)}h${bar.toFixed(2)}V${y(base(b)).toFixed(2)}h${(-bar).toFixed(2)}Z`;
  }).join('');
  const grid = ticks.map((n) => [
    s('line', { class: 'grid', x1: pad.left, x2: width - pad.right, y1: y(n), y2: y(n) }),
    s('text', { class: 'axis', x: pad.left - 6, y: y(n) + 4, 'text-anchor': 'end' }, fmt.number(n)),
  ]);
  // Time labels on round local times (every 10 minutes, every 3 hours, …), about 90 px apart.
  const span = buckets.length * (buckets.length > 1 ? (Date.parse(buckets[1].start) - Date.parse(buckets[0].start)) / 60000 : 1);
  const every = [1, 5, 10, 15, 30, 60, 120, 180, 360, 720].find((m) => span / m <= Math.max(2, plotW / 90)) || 1440;
  const times = buckets.map((b, i) => {
    const at = new Date(b.start);
    if ((at.getHours() * 60 + at.getMinutes()) % every !== 0) return null;
    return s('text', { class: 'axis', x: pad.left + i * step + step / 2, y: height - 6, 'text-anchor': 'middle' }, fmt.time(b.start));
  });
  const titles = buckets.length <= 120 ? buckets.map((b, i) => s('rect', { class: 'hit', x: pad.left + i * step, y: pad.top, width: step, height: plotH },
    s('title', null, `${fmt.time(b.start)}: ${fmt.count(b.requests, 'request')}, ${fmt.number(b.failed)} failed`))) : [];
  const total = buckets.reduce((n, b) => n + b.requests, 0);
  const failed = buckets.reduce((n, b) => n + b.failed, 0);
  return s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': `${label}: ${fmt.count(total, 'request')}, ${fmt.number(failed)} failed, at most ${fmt.number(Math.max(0, ...buckets.map((b) => b.requests)))} in one bucket` },
  grid,
  s('path', { class: 'bar-ok', d: rects((b) => b.requests - b.failed, () => 0) }),
  s('path', { class: 'bar-bad', d: rects((b) => b.failed, (b) => b.requests - b.failed) }),
  times, titles);
}

/** Horizontal bars: `rows` of `{label, value, text?, kind?}` (kind `ok`, `bad` or `muted`). */
export function barList(rows, { width, label }) {
  const row = 26;
  const labelW = Math.min(170, width * 0.4);
  const valueW = 90;
  const barW = Math.max(width - labelW - valueW - 12, 10);
  const max = Math.max(1, ...rows.map((r) => r.value));
  const height = rows.length * row + 4;
  return s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': `${label}: ${rows.map((r) => `${r.label} ${r.text ?? fmt.number(r.value)}`).join(', ')}` },
  rows.map((r, i) => [
    s('text', { class: 'axis label', x: 0, y: i * row + 17 }, r.label),
    s('rect', { class: `bar-${r.kind || 'ok'}`, x: labelW, y: i * row + 5, height: 16, rx: 3, width: Math.max((r.value / max) * barW, r.value > 0 ? 2 : 0) }),
    s('text', { class: 'axis label', x: width, y: i * row + 17, 'text-anchor': 'end' }, r.text ?? fmt.number(r.value)),
  ]));
}

/**
 * The funnel: one centred bar per stage, as wide as its share of the first stage, each followed
 * by the rate of conversion to the next one. `stages`: `[{label, count}]`, `rates`: fractions.
 */
export function funnel(stages, rates, { width }) {
  const band = 46;
  const gap = 30;
  const height = stages.length * band + (stages.length - 1) * gap;
  const first = Math.max(1, ...stages.map((st) => st.count));
  const center = width / 2;
  const parts = stages.map((stage, i) => {
    const top = i * (band + gap);
    const w = Math.max((stage.count / first) * width, 4);
    return [
      s('rect', { class: 'bar-ok funnel-stage', x: center - w / 2, y: top, width: w, height: band, rx: 6 }),
      s('text', { class: 'funnel-label', x: center, y: top + band / 2 + 5, 'text-anchor': 'middle' }, `${stage.label}: ${fmt.number(stage.count)}`),
      i < rates.length ? s('text', { class: 'axis', x: center, y: top + band + gap / 2 + 5, 'text-anchor': 'middle' }, `↓ ${fmt.percent(rates[i])} converted`) : null,
    ];
  });
  return s('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img',
    'aria-label': stages.map((st, i) => `${st.label} ${fmt.number(st.count)}${i < rates.length ? `, ${fmt.percent(rates[i])} converted` : ''}`).join('; ') }, parts);
}
