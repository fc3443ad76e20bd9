// Pipelines: each RAG vectorizer's state (files, chunks, progress, failures with
// their reasons) and a trigger button, from GET /system/vectorizers; and the AI
// proxy's counters (requests, blocks, cache hits and misses, stage latencies) from
// GET /system/proxy when the proxy runs.

import { enc, get, post } from './api.js';
import { clear, fmtNum, h, table, toast } from './dom.js';

let timer = null;

export async function mount(box) {
  const list = h('div', { id: 'vectorizers' });
  const proxyBox = h('div', { id: 'proxy-stats' });
  box.append(h('h1', {}, 'Pipelines'), list, h('h2', {}, 'AI proxy'), proxyBox);

  async function renderProxy() {
    let p;
    try { p = await get('/system/proxy'); } catch (e) {
      clear(proxyBox).append(h('p', { class: 'error' }, e.message));
      return;
    }
    clear(proxyBox);
    if (!p.enabled) {
      proxyBox.append(h('p', { class: 'muted', id: 'no-proxy' }, 'The AI proxy is not running (start the server with -enable-proxy).'));
      return;
    }
    const req = Object.entries(p.requests).map(([r, n]) => h('tr', { 'data-route': r }, h('td', { class: 'mono' }, r), h('td', { class: 'num' }, fmtNum(n))));
    const counts = p.counts.map((c) => h('tr', { 'data-count': c.name + (c.labels ? '{' + c.labels + '}' : '') },
      h('td', { class: 'mono' }, c.name.replace('kektor_proxy_', '')), h('td', { class: 'mono small' }, c.labels), h('td', { class: 'num' }, fmtNum(c.value))));
    const stages = Object.entries(p.stages).map(([s, v]) => h('tr', {}, h('td', { class: 'mono' }, s), h('td', { class: 'num' }, fmtNum(v.count)),
      h('td', { class: 'num' }, v.p50_ms.toFixed(3)), h('td', { class: 'num' }, v.p99_ms.toFixed(3))));
    proxyBox.append(
      table(['route', 'requests'], req, { class: 'grid compact' }),
      table(['counter', 'labels', 'value'], counts, { class: 'grid compact' }),
      table(['stage', 'samples', 'p50 ms', 'p99 ms'], stages, { class: 'grid compact' }));
  }

  async function render() {
    let all;
    try { all = await get('/system/vectorizers'); } catch (e) {
      clear(list).append(h('p', { class: 'error' }, e.message));
      return;
    }
    clear(list);
    if (!all.length) {
      list.append(h('p', { class: 'muted', id: 'no-vectorizers' }, 'No vectorizer is configured. Start the server with -vectorizers-config FILE to watch folders into an index.'));
      return;
    }
    const rows = all.map((v) => h('tr', { 'data-vectorizer': v.name },
      h('td', {}, v.name), h('td', { class: 'mono' }, v.index), h('td', { class: 'mono small' }, v.source_path),
      h('td', {}, v.embedder),
      h('td', {}, h('span', { class: 'badge ' + (v.is_running ? 'running' : v.last_error ? 'failed' : 'completed') }, v.current_state),
        v.queued ? ' (another scan queued)' : ''),
      h('td', { class: 'small' }, v.last_run ? `${v.last_run} (${v.last_run_ms} ms)` : 'never'),
      h('td', { class: 'num' }, `${fmtNum(v.files_indexed)} / ${fmtNum(v.files_seen)}`),
      h('td', { class: 'num' }, fmtNum(v.chunks)),
      h('td', { class: 'num' + (v.files_failed ? ' error' : '') }, fmtNum(v.files_failed)),
      h('td', {}, v.is_running && v.progress.total ? `${v.progress.done} / ${v.progress.total}` : ''),
      h('td', {}, h('button', { class: 'small', onclick: async () => {
        try { toast((await post('/system/vectorizers/' + enc(v.name) + '/trigger')).message); } catch (e) { toast(e.message, 'error'); }
        setTimeout(render, 500);
      } }, 'Trigger'))));
    list.append(table(['name', 'index', 'folder', 'embedder', 'state', 'last run', 'files indexed / seen', 'chunks', 'failed', 'progress', ''], rows, { class: 'grid' }));
    for (const v of all) {
      if (v.last_error) list.append(h('p', { class: 'error' }, `${v.name}: ${v.last_error}`));
      const failures = Object.entries(v.failures || {});
      if (failures.length) {
        list.append(h('h3', {}, `${v.name}: failed files`),
          table(['file', 'reason'], failures.map(([f, why]) => h('tr', {}, h('td', { class: 'mono' }, f), h('td', {}, why))), { class: 'grid compact' }));
      }
    }
    if (all.some((v) => v.is_running || v.queued)) timer = setTimeout(render, 1000);
  }
  await render();
  await renderProxy();
}

export function unmount() { clearTimeout(timer); }
