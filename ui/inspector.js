// The node inspector: metadata, a vector preview, edges out and in with their
// times, as the graph is now or was at a chosen time (at_time), and the way to
// "find similar" and to show the node in the graph.

import { enc, get, post } from './api.js';
import { clear, fmtNanos, h, table } from './dom.js';

function vectorPreview(v) {
  if (!v || !v.length) return h('p', { class: 'muted' }, 'No vector (a graph node).');
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  const c = h('canvas', { class: 'sparkline', width: 320, height: 48, 'aria-label': 'vector values' });
  const g = c.getContext('2d');
  const max = Math.max(...v.map(Math.abs)) || 1;
  const w = c.width / v.length;
  for (let i = 0; i < v.length; i++) {
    const y = (v[i] / max) * (c.height / 2 - 1);
    g.fillStyle = v[i] >= 0 ? '#60a5fa' : '#f87171';
    g.fillRect(i * w, c.height / 2 - Math.max(y, 0), Math.max(w, 1), Math.abs(y) || 0.5);
  }
  return h('div', {},
    h('p', { class: 'small' }, `${v.length} dimensions · norm ${norm.toFixed(4)} · first: `,
      h('span', { class: 'mono' }, '[' + v.slice(0, 8).map((x) => x.toFixed(4)).join(', ') + (v.length > 8 ? ', …' : '') + ']')),
    c);
}

/** A datetime-local value as unix nanoseconds (0: now). */
function atTime(input) {
  if (!input.value) return 0;
  return Math.round(new Date(input.value).getTime()) * 1e6;
}

export async function inspect(box, ctx, id) {
  clear(box);
  box.append(h('h2', { class: 'mono' }, id));
  let item = null;
  try {
    item = await get('/vector/indexes/' + enc(ctx.index) + '/vectors/' + enc(id));
  } catch (e) {
    box.append(h('p', { class: 'muted' }, e.status === 404 ? 'Not an item of ' + ctx.index + ' (a node of the graph only).' : e.message));
  }
  const actions = h('div', { class: 'row' },
    item && item.vector && item.vector.length
      ? h('button', { class: 'small', id: 'find-similar', onclick: () => ctx.go('search', { vectorOf: id }) }, 'Find similar')
      : null,
    h('button', { class: 'small', onclick: () => ctx.go('graph', { focus: id }) }, 'Show in graph'));
  box.append(actions);
  if (item) {
    box.append(h('h3', {}, 'Metadata'), h('pre', { class: 'json' }, JSON.stringify(item.metadata, null, 2)));
    box.append(h('h3', {}, 'Vector'), vectorPreview(item.vector));
  }
  const when = h('input', { type: 'datetime-local', step: 1, id: 'at-time', 'aria-label': 'as of' });
  const edges = h('div', { id: 'edges' });
  const now = h('button', { class: 'small', type: 'button', onclick: () => { when.value = ''; loadEdges(); } }, 'Now');
  when.onchange = () => loadEdges();
  box.append(h('h3', {}, 'Edges'), h('div', { class: 'row' }, h('label', {}, 'as of ', when), now), edges);

  async function loadEdges() {
    clear(edges);
    const at = atTime(when);
    try {
      const [out, inc] = await Promise.all(['out', 'in'].map((direction) =>
        post('/graph/actions/get-edges', { source_id: id, direction, at_time: at })));
      const rows = [];
      for (const [dir, list] of [['→', out.edges], ['←', inc.edges]]) {
        for (const e of list) {
          rows.push(h('tr', {},
            h('td', {}, dir), h('td', {}, e.r),
            h('td', {}, h('a', { href: '#', class: 'mono', onclick: (ev) => { ev.preventDefault(); inspect(box, ctx, e.t); } }, e.t)),
            h('td', { class: 'num' }, e.w), h('td', { class: 'small' }, fmtNanos(e.c)),
            h('td', { class: 'small' }, e.d ? fmtNanos(e.d) : '')));
        }
      }
      edges.append(rows.length
        ? table(['', 'relation', 'other end', 'weight', 'created', 'deleted'], rows, { class: 'grid compact' })
        : h('p', { class: 'muted' }, at ? 'No edge at that time.' : 'No edge.'));
      if (at) edges.append(h('p', { class: 'muted small' }, 'The graph as it was at ' + fmtNanos(at) + '; "deleted" shows edges removed since.'));
    } catch (e) {
      edges.append(h('p', { class: 'error' }, e.message));
    }
  }
  await loadEdges();
}
