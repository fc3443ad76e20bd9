// Pipelines: each RAG vectorizer's state (files, chunks, progress, failures with
// their reasons) and a trigger button, from GET /system/vectorizers.

import { enc, get, post } from './api.js';
import { clear, fmtNum, h, table, toast } from './dom.js';

let timer = null;

export async function mount(box) {
  const list = h('div', { id: 'vectorizers' });
  box.append(h('h1', {}, 'Pipelines'), list);

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
}

export function unmount() { clearTimeout(timer); }
