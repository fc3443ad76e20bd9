// The graph explorer: a sample of an index (its first items in storage order, as
// upstream) or a node's neighbourhood, drawn by graph.js; click to inspect,
// double-click (or Expand) to add a node's neighbours; colours by node type;
// relation labels when zoomed in; chunk chains (next/prev) can be hidden.

import { post } from './api.js';
import { clear, fmtNum, h, preview, toast } from './dom.js';
import { GraphView } from './graph.js';

const KNOWN = { chunk: '#60a5fa', document: '#f59e0b', entity: '#a78bfa', memory: '#34d399', session: '#2dd4bf', item: '#93c5fd' };
const PALETTE = ['#f472b6', '#fb7185', '#facc15', '#4ade80', '#22d3ee', '#c084fc', '#fdba74', '#a3e635'];
const CHAIN = ['next', 'prev'];

export function nodeType(meta, id) {
  if (meta && typeof meta.type === 'string' && meta.type) return meta.type;
  if (!meta) return 'entity';
  if (id.startsWith('doc:')) return 'document';
  return 'item';
}

function colorOf(n) {
  if (KNOWN[n.type]) return KNOWN[n.type];
  let hsh = 0;
  for (const ch of n.type) hsh = (hsh * 31 + ch.charCodeAt(0)) >>> 0;
  return PALETTE[hsh % PALETTE.length];
}

/** `/ui/explore` results as nodes and edges (neighbours outside them are hollow). */
export function toGraph(results) {
  const nodes = new Map();
  const edges = [];
  const put = (id, meta, ghost) => {
    const old = nodes.get(id);
    if (old && !ghost) Object.assign(old, { ghost: false, meta, type: nodeType(meta, id), label: preview(meta, 40) || id });
    if (!old) nodes.set(id, { id, meta, ghost, type: nodeType(meta, id), label: preview(meta, 40) || id });
  };
  for (const r of results) put(r.id, r.metadata, false);
  for (const r of results) {
    for (const [rel, list] of Object.entries(r.connections || {})) {
      for (const o of list) { put(o.id, o.metadata, true); edges.push({ source: r.id, target: o.id, relation: rel }); }
    }
    for (const [rel, list] of Object.entries(r.incoming || {})) {
      for (const o of list) { put(o.id, o.metadata, true); edges.push({ source: o.id, target: r.id, relation: rel }); }
    }
  }
  return { nodes: [...nodes.values()], edges };
}

let view = null;

export async function mount(box, ctx, params) {
  if (!ctx.index) { box.append(h('p', { class: 'muted' }, 'No index: create one in Indexes.')); return; }
  const limit = h('input', { id: 'graph-limit', type: 'number', min: 1, max: 10000, value: 200, 'aria-label': 'sample size' });
  const focusId = h('input', { id: 'graph-focus', class: 'mono', placeholder: 'node id', value: params.focus || '' });
  const chains = h('input', { id: 'graph-hide-chains', type: 'checkbox' });
  const labels = h('input', { id: 'graph-labels', type: 'checkbox', checked: true });
  const stats = h('span', { id: 'graph-stats', class: 'muted' });
  const legend = h('div', { id: 'graph-legend', class: 'legend' });
  const side = h('aside', { id: 'graph-node', class: 'panel' }, h('p', { class: 'muted' }, 'Click a node to select it; double-click to expand it.'));
  const canvas = h('canvas', { id: 'graph-canvas', 'aria-label': 'graph' });
  let perf = { loadMs: null };

  function showStats(s) {
    const parts = [`${fmtNum(s.nodes)} nodes`, `${fmtNum(s.edges)} edges`];
    if (perf.loadMs !== null) parts.push(`loaded in ${perf.loadMs.toFixed(0)} ms`);
    if (s.firstDrawMs !== null) parts.push(`first draw ${s.firstDrawMs.toFixed(0)} ms`);
    if (s.frameMs !== null) parts.push(`frame ${s.frameMs.toFixed(1)} ms`);
    stats.textContent = parts.join(' · ');
    stats.dataset.nodes = String(s.nodes);
    stats.dataset.edges = String(s.edges);
  }

  function drawLegend() {
    clear(legend);
    const types = new Map();
    for (const n of view.nodes) types.set(n.ghost ? 'outside the sample' : n.type, (types.get(n.ghost ? 'outside the sample' : n.type) || 0) + 1);
    for (const [t, count] of [...types].sort((a, b) => b[1] - a[1])) {
      const dot = h('span', { class: 'dot' + (t === 'outside the sample' ? ' hollow' : '') });
      if (t !== 'outside the sample') dot.style.background = colorOf({ type: t });
      legend.append(h('span', { class: 'legend-item' }, dot, `${t} (${count})`));
    }
  }

  function select(n) {
    clear(side);
    if (!n) { side.append(h('p', { class: 'muted' }, 'Nothing selected.')); return; }
    const edgesOut = view.active.filter((e) => e.source === n);
    const edgesIn = view.active.filter((e) => e.target === n);
    side.append(h('h2', { class: 'mono', id: 'graph-selected' }, n.id),
      h('p', {}, h('span', { class: 'badge' }, n.ghost ? 'outside the sample' : n.type), ` ${edgesOut.length} out · ${edgesIn.length} in`),
      h('p', {}, preview(n.meta, 300)),
      h('div', { class: 'row' },
        h('button', { class: 'small', id: 'graph-expand', onclick: () => expand(n) }, 'Expand neighbours'),
        h('button', { class: 'small', onclick: () => ctx.go('points', { inspect: n.id }) }, 'Inspect')),
      h('ul', { class: 'compact' }, edgesOut.slice(0, 50).map((e) => h('li', {}, '→ ', h('span', { class: 'badge rel' }, e.relation), ' ', e.target.id)),
        edgesIn.slice(0, 50).map((e) => h('li', {}, '← ', h('span', { class: 'badge rel' }, e.relation), ' ', e.source.id))));
  }

  async function expand(n) {
    try {
      const r = await post('/ui/explore', { index_name: ctx.index, ids: [n.id], include_vectors: false });
      const g = toGraph(r.results);
      const before = view.nodes.length;
      view.add(g.nodes, g.edges, n);
      view.reheat(0.5);
      drawLegend();
      showStats(view.summary());
      select(n);
      toast(`${n.id}: ${view.nodes.length - before} new nodes`);
    } catch (e) { toast('Expand failed: ' + e.message, 'error'); }
  }

  async function load(body) {
    const t0 = performance.now();
    stats.textContent = 'Loading…';
    try {
      const r = await post('/ui/explore', { index_name: ctx.index, include_vectors: false, ...body });
      perf.loadMs = performance.now() - t0;
      const g = toGraph(r.results);
      view.load(g.nodes, g.edges, t0);
      view.stats.fetchMs = perf.loadMs;
      window.__kektorGraph = view;
      drawLegend();
      showStats(view.summary());
      select(null);
      return true;
    } catch (e) {
      stats.textContent = 'Error: ' + e.message;
      return false;
    }
  }

  const sample = h('button', { id: 'graph-load', onclick: async () => {
    const n = Number(limit.value) || 200;
    if (n > 2000 && !window.confirm(`Draw ${n} nodes?`)) return;
    await load({ limit: n });
  } }, 'Load sample');
  const around = h('button', { id: 'graph-around', onclick: async () => {
    const id = focusId.value.trim();
    if (!id) return;
    if (await load({ ids: [id] })) view.focus(id);
  } }, 'Neighbourhood');
  const fit = h('button', { class: 'small', onclick: () => view.fit() }, 'Fit');
  chains.onchange = () => { view.hide(chains.checked ? CHAIN : []); showStats(view.summary()); };
  labels.onchange = () => { view.showLabels = labels.checked; view.redraw(); };

  box.append(h('h1', {}, 'Graph of ', h('span', { class: 'mono' }, ctx.index)),
    h('div', { class: 'toolbar' }, h('label', {}, 'sample ', limit), sample, focusId, around,
      h('label', {}, chains, ' hide chunk chains (next/prev)'), h('label', {}, labels, ' labels'), fit),
    h('div', { class: 'toolbar' }, stats, legend),
    h('div', { class: 'split graph' }, h('div', { class: 'canvas-box' }, canvas), side));
  view = new GraphView(canvas, { colorOf, onSelect: select, onExpand: expand, onStats: showStats });
  if (params.focus) { if (await load({ ids: [params.focus] })) view.focus(params.focus); } else await load({ limit: Number(limit.value) });
}

export function unmount() {
  if (view) view.destroy();
  view = null;
  window.__kektorGraph = null;
}
