// The search debugger: text (embedded by the index's embedder) or vector query,
// k, ef, alpha for hybrid, filter, graph filter, relations; results with scores,
// the vector and BM25 parts of each score, related nodes, the time taken, and
// recall@k against the exact reference.

import { enc, get, post } from './api.js';
import { clear, field, fmtScore, h, preview, showFilterError, table } from './dom.js';

function relationsTree(node) {
  const conns = node && node.connections;
  if (!conns || !Object.keys(conns).length) return null;
  return h('ul', { class: 'tree' }, Object.entries(conns).map(([rel, kids]) =>
    h('li', {}, h('span', { class: 'badge rel' }, rel), ' ',
      kids.map((k) => h('div', { class: 'related' }, h('span', { class: 'mono' }, k.id), ' ',
        h('span', { class: 'muted' }, preview(k.metadata, 80)), relationsTree(k))))));
}

function bar(part, total, cls) {
  const pct = total > 0 ? Math.max(0, Math.min(100, (part / total) * 100)) : 0;
  const fill = h('span', { class: 'fill' });
  fill.style.width = pct + '%'; // CSSOM, which the page's CSP allows (style attributes it does not)
  return h('span', { class: 'bar ' + cls, title: fmtScore(part) }, fill);
}

export async function mount(box, ctx, params) {
  if (!ctx.index) { box.append(h('p', { class: 'muted' }, 'No index: create one in Indexes.')); return; }
  const info = ctx.info() || {};
  const hasText = !!info.text_language;
  const q = {
    mode: h('select', { id: 'search-mode', 'aria-label': 'query kind' },
      h('option', { value: 'text', text: 'text' }), h('option', { value: 'vector', text: 'vector (JSON)' })),
    text: h('textarea', { id: 'search-text', rows: 2, class: 'wide', placeholder: 'what to look for' }),
    k: h('input', { id: 'search-k', type: 'number', min: 1, max: 1000, value: 10 }),
    ef: h('input', { id: 'search-ef', type: 'number', min: 0, placeholder: 'default 100' }),
    alpha: h('input', { id: 'search-alpha', type: 'range', min: 0, max: 1, step: 0.05, value: 0.5, disabled: !hasText }),
    filter: h('input', { id: 'search-filter', class: 'mono wide', placeholder: "metadata filter, e.g. type = 'chunk'" }),
    rels: h('input', { id: 'search-rels', class: 'mono', placeholder: 'e.g. prev,next,parent' }),
    hydrate: h('input', { id: 'search-hydrate', type: 'checkbox', checked: true }),
    root: h('input', { id: 'gf-root', class: 'mono', placeholder: 'root id' }),
    gfRels: h('input', { id: 'gf-rels', class: 'mono', placeholder: 'relations (all)' }),
    depth: h('input', { id: 'gf-depth', type: 'number', min: 1, max: 8, value: 1 }),
    dir: h('select', { id: 'gf-dir' }, ['out', 'in', 'both'].map((d) => h('option', { value: d, text: d }))),
  };
  const alphaOut = h('output', { id: 'alpha-value' }, hasText ? '0.50' : 'n/a');
  q.alpha.oninput = () => { alphaOut.textContent = Number(q.alpha.value).toFixed(2); };
  const run = h('button', { type: 'submit', id: 'search-run' }, 'Search');
  const compare = h('button', { type: 'button', id: 'search-compare', disabled: true }, 'Compare with exact search');
  const errBox = h('div', { id: 'search-error', hidden: true });
  const summary = h('p', { id: 'search-summary', class: 'summary' });
  const recall = h('p', { id: 'search-recall', class: 'summary' });
  const results = h('div', { id: 'search-results' });
  let last = null;

  function body() {
    const b = { index_name: ctx.index, k: Number(q.k.value) || 10, include_vectors: false, hydrate: q.hydrate.checked };
    if (q.mode.value === 'vector') {
      let v;
      try { v = JSON.parse(q.text.value); } catch { throw new Error('the vector is not a JSON array of numbers'); }
      if (!Array.isArray(v)) throw new Error('the vector is not a JSON array of numbers');
      b.query_vector = v;
    } else {
      b.query = q.text.value;
    }
    if (Number(q.ef.value) > 0) b.ef_search = Number(q.ef.value);
    if (hasText) b.alpha = Number(q.alpha.value);
    if (q.filter.value.trim()) b.filter = q.filter.value;
    const rels = q.rels.value.split(',').map((s) => s.trim()).filter(Boolean);
    if (rels.length) b.include_relations = rels;
    if (q.root.value.trim()) {
      b.graph_filter = { root_id: q.root.value.trim(), max_depth: Number(q.depth.value) || 1, direction: q.dir.value,
        relations: q.gfRels.value.split(',').map((s) => s.trim()).filter(Boolean) };
    }
    return b;
  }

  async function search() {
    let b;
    try { b = body(); } catch (e) { showFilterError(errBox, undefined, e); return; }
    const t0 = performance.now();
    let r;
    try {
      r = await post('/ui/search', b);
      showFilterError(errBox, b.filter, null);
    } catch (e) {
      showFilterError(errBox, b.filter, e);
      return;
    }
    const rtt = performance.now() - t0;
    last = { body: b, answer: r };
    compare.disabled = !r.results.length;
    recall.textContent = '';
    const how = r.mode === 'hybrid' ? `hybrid (alpha ${r.alpha.toFixed(2)})` : r.mode;
    summary.textContent = `${r.results.length} results · ${how} · ${r.metric} · k ${r.k} · ef ${r.ef_search} · ` +
      `embed ${r.took_ms.embed} ms · search ${r.took_ms.search} ms · server ${r.took_ms.total} ms · round trip ${rtt.toFixed(1)} ms`;
    draw(r, null);
  }

  function draw(r, exactIds) {
    clear(results);
    const rows = r.results.map((x, i) => h('tr', { 'data-id': x.id, class: exactIds && !exactIds.has(x.id) ? 'miss' : '' },
      h('td', { class: 'num' }, i + 1),
      h('td', {}, h('a', { href: '#', class: 'mono', onclick: (e) => { e.preventDefault(); ctx.go('points', { inspect: x.id }); } }, x.id)),
      h('td', { class: 'num score' }, fmtScore(x.score)),
      h('td', { class: 'num' }, x.distance === undefined ? '–' : fmtScore(x.distance)),
      h('td', { class: 'num' }, x.vector_part === undefined ? 'n/a' : [fmtScore(x.vector_part), bar(x.vector_part, x.score, 'vec')]),
      h('td', { class: 'num' }, x.text_part === undefined ? 'n/a' : [fmtScore(x.text_part), bar(x.text_part, x.score, 'txt')]),
      h('td', {}, preview(x.node && x.node.metadata, 200), relationsTree(x.node))));
    results.append(r.results.length
      ? table(['#', 'id', 'score', 'distance', 'vector part', 'BM25 part', 'content and relations'], rows, { class: 'grid' })
      : h('p', { class: 'muted' }, 'No result.'));
    if (r.decay) results.append(h('p', { class: 'muted small' }, 'This index has memory decay: scores include each item\'s decay, so their parts are not shown.'));
  }

  compare.onclick = async () => {
    if (!last) return;
    compare.disabled = true;
    recall.textContent = 'Running the exact reference…';
    try {
      const ex = await post('/ui/search', { ...last.body, exact: true });
      const exact = new Set(ex.results.map((x) => x.id));
      const got = last.answer.results.filter((x) => exact.has(x.id)).length;
      const n = exact.size;
      const value = n ? got / n : 1;
      recall.textContent = `recall@${last.answer.k} = ${value.toFixed(3)} (${got} of ${n}) · this search ${last.answer.took_ms.search} ms at ef ${last.answer.ef_search} · exact reference ${ex.took_ms.search} ms at ef ${ex.ef_search}`;
      recall.dataset.recall = String(value);
      draw(last.answer, exact);
      const missed = ex.results.filter((x) => !last.answer.results.some((y) => y.id === x.id));
      if (missed.length) {
        results.append(h('h3', {}, 'In the exact results, missed here'),
          h('ul', {}, missed.map((x) => h('li', {}, h('span', { class: 'mono' }, x.id), ' ', fmtScore(x.score), ' ', preview(x.node && x.node.metadata, 100)))));
      }
    } catch (e) {
      recall.textContent = 'Exact reference failed: ' + e.message;
    }
    compare.disabled = false;
  };

  const form = h('form', { id: 'search-form', class: 'stack' },
    h('div', { class: 'row' }, field('query', q.mode), q.text),
    h('div', { class: 'row' }, field('k', q.k), field('ef_search', q.ef),
      field('alpha', h('span', {}, q.alpha, ' ', alphaOut), hasText ? 'vector weight in hybrid' : 'needs an index with text search'),
      field('include_relations', q.rels), field('hydrate', q.hydrate)),
    h('div', { class: 'row' }, field('filter', q.filter)),
    h('details', {}, h('summary', {}, 'Graph filter'),
      h('div', { class: 'row' }, field('root_id', q.root), field('relations', q.gfRels), field('max_depth', q.depth), field('direction', q.dir))),
    h('div', { class: 'row' }, run, compare));
  form.onsubmit = (e) => { e.preventDefault(); search(); };
  box.append(h('h1', {}, 'Search ', h('span', { class: 'mono' }, ctx.index)), form, errBox, summary, recall, results);

  if (params.vectorOf) {
    try {
      const it = await get('/vector/indexes/' + enc(ctx.index) + '/vectors/' + enc(params.vectorOf));
      q.mode.value = 'vector';
      q.text.value = JSON.stringify(it.vector);
      summary.textContent = 'Similar to ' + params.vectorOf + ':';
      await search();
    } catch (e) { showFilterError(errBox, undefined, e); }
  }
}
