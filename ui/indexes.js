// Indexes: the list with counts, metric, precision, memory, text language and
// maintenance state; create, delete (confirmed), compress, vacuum, refine;
// snapshot and log rewrite; the server's tasks with their progress.

import { del, enc, get, post } from './api.js';
import { clear, confirmDialog, field, fmtBytes, fmtDuration, fmtNum, h, table, toast } from './dom.js';

const TASKS = 'kektordb.tasks';
let timer = null;

function loadTasks() {
  try { return JSON.parse(sessionStorage.getItem(TASKS)) || []; } catch { return []; }
}
function saveTasks(t) { sessionStorage.setItem(TASKS, JSON.stringify(t.slice(-20))); }

/** Remembers a task the server started (202) so its progress is followed. */
export function track(task, what) {
  const all = loadTasks().filter((t) => t.id !== task.id);
  all.push({ ...task, what, started: Date.now() });
  saveTasks(all);
}

const done = (t) => t.status === 'completed' || t.status === 'failed';

// Every task the server remembers (started from any client), labelled with what
// this tab asked for when it started it.
async function pollTasks(box) {
  const local = loadTasks();
  const { tasks } = await get('/system/tasks');
  const label = new Map(local.map((t) => [t.id, t.what]));
  const all = tasks.map((t) => ({ ...t, what: label.get(t.id) || (t.progress_message || '').split(':')[0] })).reverse();
  for (const t of local) {
    if (!tasks.some((s) => s.id === t.id) && !done(t)) { t.status = 'failed'; t.error = 'forgotten by the server (restarted?)'; }
  }
  saveTasks(local.filter((t) => tasks.some((s) => s.id === t.id)));
  renderTasks(box, all);
  return all.some((t) => !done(t));
}

function renderTasks(box, all) {
  clear(box);
  if (!all.length) { box.append(h('p', { class: 'muted' }, 'No task has run since the server started.')); return; }
  box.append(table(['task', 'id', 'status', 'progress', 'error'], all.slice().reverse().map((t) =>
    h('tr', { class: 'task-' + t.status },
      h('td', {}, t.what || ''), h('td', { class: 'mono' }, t.id.slice(0, 8)),
      h('td', {}, h('span', { class: 'badge ' + t.status }, t.status)),
      h('td', {}, t.progress_message || ''), h('td', { class: 'error' }, t.error || '')))));
}

function maintenanceText(ix) {
  const m = ix.maintenance || {};
  const parts = ['vacuum ' + fmtDuration(m.vacuum_interval) + ' @' + Math.round((m.delete_threshold || 0) * 100) + '%'];
  parts.push(m.refine_enabled ? 'refine ' + fmtDuration(m.refine_interval) : 'refine off');
  if (m.graph_retention) parts.push('graph retention ' + fmtDuration(m.graph_retention));
  if (ix.memory_decay) parts.push('memory decay');
  return parts.join(' · ');
}

export async function mount(box, ctx) {
  const tasksBox = h('div', { id: 'tasks' });
  const list = h('div', { id: 'index-list' });
  const runs = h('p', { class: 'muted', id: 'maintenance-runs' });

  async function start(label, path, body) {
    try {
      const t = await post(path, body);
      track(t, label);
      toast(label + ': started');
      kick(true);
    } catch (e) { toast(label + ': ' + e.message, 'error'); }
  }

  // Polls the tasks each second while one runs; the list is drawn again when
  // they end (a compression changes the precision, a vacuum the deleted rows).
  function kick(started = false) {
    clearTimeout(timer);
    let ran = started;
    const loop = async () => {
      let more = false;
      try { more = await pollTasks(tasksBox); } catch { /* shown on the next poll */ }
      if (more) { ran = true; timer = setTimeout(loop, 1000); } else if (ran) await render().catch(() => {});
    };
    loop();
  }

  async function render() {
    const o = await ctx.refresh();
    clear(list);
    const rows = o.indexes.map((ix) => {
      const name = ix.name;
      const compress = h('select', { 'aria-label': 'compress ' + name },
        h('option', { value: '', text: 'compress…' }),
        ['float16', 'int8'].filter((p) => p !== ix.precision).map((p) => h('option', { value: p, text: p })));
      compress.onchange = () => {
        if (compress.value) start('compress ' + name + ' to ' + compress.value, '/vector/actions/compress', { index_name: name, precision: compress.value });
        compress.value = '';
      };
      return h('tr', { 'data-index': name },
        h('td', {}, h('a', { href: '#', onclick: (e) => { e.preventDefault(); ctx.select(name); ctx.go('points'); } }, name)),
        h('td', { class: 'num' }, fmtNum(ix.vector_count)),
        h('td', { class: 'num' }, ix.dimension ?? '–'),
        h('td', {}, ix.metric), h('td', {}, ix.precision),
        h('td', { class: 'num', title: JSON.stringify(ix.memory) }, fmtBytes(ix.memory_bytes)),
        h('td', {}, ix.text_language || '–'),
        h('td', {}, ix.embedder || '–'),
        h('td', { class: 'num' }, ix.deleted_rows === undefined ? '' : fmtNum(ix.deleted_rows)),
        h('td', { class: 'small' }, maintenanceText(ix)),
        h('td', { class: 'actions' },
          h('button', { class: 'small', onclick: () => { ctx.select(name); ctx.go('search'); } }, 'Search'),
          h('button', { class: 'small', onclick: () => { ctx.select(name); ctx.go('graph'); } }, 'Graph'),
          h('button', { class: 'small', onclick: () => start('vacuum ' + name, '/vector/indexes/' + enc(name) + '/maintenance', { type: 'vacuum' }) }, 'Vacuum'),
          h('button', { class: 'small', onclick: () => start('refine ' + name, '/vector/indexes/' + enc(name) + '/maintenance', { type: 'refine' }) }, 'Refine'),
          compress,
          h('button', { class: 'small danger', onclick: () => drop(name) }, 'Delete')));
    });
    list.append(rows.length
      ? table(['name', 'items', 'dim', 'metric', 'precision', 'memory', 'text', 'embedder', 'deleted', 'maintenance', ''], rows, { class: 'grid' })
      : h('p', { class: 'muted' }, 'No index yet: create one below.'));
    const r = Object.entries(o.maintenance_runs || {}).map(([k, n]) => k + ' ' + n).join(' · ');
    runs.textContent = 'Background maintenance runs since start: ' + (r || 'none');
  }

  async function drop(name) {
    const ok = await confirmDialog('Delete index ' + name + '?', 'Every item of "' + name + '" is deleted; this cannot be undone. Type the index name to confirm.', name);
    if (!ok) return;
    try {
      await del('/vector/indexes/' + enc(name));
      toast('Index ' + name + ' deleted');
      await render();
    } catch (e) { toast('Delete failed: ' + e.message, 'error'); }
  }

  const f = {
    name: h('input', { id: 'new-name', required: true, placeholder: 'name', }),
    metric: h('select', { id: 'new-metric' }, ['cosine', 'euclidean', 'dot'].map((m) => h('option', { value: m, text: m }))),
    precision: h('select', { id: 'new-precision' }, ['float32', 'float16', 'int8'].map((m) => h('option', { value: m, text: m }))),
    m: h('input', { type: 'number', min: 2, max: 128, placeholder: '16' }),
    ef: h('input', { type: 'number', min: 1, placeholder: '200' }),
    lang: h('select', { id: 'new-lang' }, [['', 'none'], ['english', 'english'], ['italian', 'italian']].map(([v, t]) => h('option', { value: v, text: t }))),
  };
  const createForm = h('form', { class: 'inline-form', id: 'create-index' },
    field('name', f.name), field('metric', f.metric), field('precision', f.precision),
    field('M', f.m), field('ef_construction', f.ef), field('text search', f.lang),
    h('button', { type: 'submit' }, 'Create index'));
  createForm.onsubmit = async (e) => {
    e.preventDefault();
    const body = { index_name: f.name.value.trim(), metric: f.metric.value, precision: f.precision.value, text_language: f.lang.value };
    if (f.m.value) body.m = Number(f.m.value);
    if (f.ef.value) body.ef_construction = Number(f.ef.value);
    try {
      await post('/vector/actions/create', body);
      toast('Index ' + body.index_name + ' created');
      ctx.select(body.index_name);
      f.name.value = '';
      await render();
    } catch (err) { toast('Create failed: ' + err.message, 'error'); }
  };

  const save = h('button', { id: 'snapshot', onclick: async () => {
    save.disabled = true;
    try {
      const r = await post('/system/save');
      toast('Snapshot written (' + fmtBytes(r.snapshot_bytes) + ')');
    } catch (e) { toast('Snapshot failed: ' + e.message, 'error'); }
    save.disabled = false;
  } }, 'Snapshot now');
  const rewrite = h('button', { id: 'aof-rewrite', onclick: () => start('log rewrite', '/system/aof-rewrite') }, 'Rewrite log');

  box.append(
    h('section', {}, h('h1', {}, 'Indexes'), list, runs),
    h('section', {}, h('h2', {}, 'New index'), createForm),
    h('section', {}, h('h2', {}, 'Persistence'),
      h('p', { class: 'muted' }, 'A snapshot writes every shard now and answers when it is durable; a log rewrite does the same as a background task.'),
      h('div', { class: 'row' }, save, rewrite)),
    h('section', {}, h('h2', {}, 'Tasks'), tasksBox));
  await render();
  kick();
}

export function unmount() { clearTimeout(timer); }
