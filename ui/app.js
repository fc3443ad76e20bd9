// The dashboard's shell: login, the index picker, and the views by hash route
// (#/indexes, #/points, #/search, #/graph, #/pipelines).

import { ApiError, clearToken, get, onUnauthorized, setToken, token } from './api.js';
import { $, clear, h, toast } from './dom.js';
import * as indexes from './indexes.js';
import * as points from './points.js';
import * as search from './search.js';
import * as explorer from './explorer.js';
import * as pipelines from './pipelines.js';

const views = { indexes, points, search, graph: explorer, pipelines };

const ctx = {
  overview: null,
  /** The selected index's name ('' when there is none). */
  index: sessionStorage.getItem('kektordb.index') || '',
  /** Parameters handed to the next view (find similar, show in graph...). */
  params: {},
  info(name = ctx.index) {
    return (ctx.overview?.indexes || []).find((i) => i.name === name) || null;
  },
  /** Reloads the overview and the index picker. */
  async refresh() {
    ctx.overview = await get('/ui/overview');
    const names = ctx.overview.indexes.map((i) => i.name);
    if (!names.includes(ctx.index)) ctx.index = names[0] || '';
    const sel = $('#index-select');
    clear(sel);
    for (const n of names) sel.append(h('option', { value: n, text: n }));
    if (!names.length) sel.append(h('option', { value: '', text: '(no index)' }));
    sel.value = ctx.index;
    const o = ctx.overview;
    $('#server-status').textContent =
      `v${o.version} · ${o.shards} shards · ${names.length} indexes` + (o.auth ? ' · token' : '');
    $('#logout').hidden = !token();
    return ctx.overview;
  },
  select(name) {
    ctx.index = name;
    sessionStorage.setItem('kektordb.index', name);
    $('#index-select').value = name;
  },
  go(view, params = {}) {
    ctx.params = params;
    if (location.hash === '#/' + view) route();
    else location.hash = '#/' + view;
  },
};

let current = null;

function route() {
  const name = (location.hash.replace(/^#\/?/, '').split('?')[0]) || 'indexes';
  const view = views[name] || indexes;
  if (current && current.unmount) current.unmount();
  current = view;
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === name);
  const box = clear($('#view'));
  const params = ctx.params;
  ctx.params = {};
  Promise.resolve(view.mount(box, ctx, params)).catch((e) => showError(box, e));
}

function showError(box, e) {
  if (e instanceof ApiError && e.status === 401) return;
  box.append(h('p', { class: 'error' }, 'Error: ' + (e.message || e)));
  console.warn(e);
}

// ---- login

function askToken(reason) {
  const dlg = $('#login');
  $('#login-msg').textContent = reason || '';
  if (!dlg.open) dlg.showModal();
  $('#token').focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const t = $('#token').value.trim();
  if (!t) return;
  setToken(t);
  $('#login-msg').textContent = 'Checking…';
  try {
    await ctx.refresh();
    $('#login').close();
    $('#token').value = '';
    toast('Signed in');
    route();
  } catch (e) {
    clearToken();
    if (e.status === 401) {
      $('#login-msg').textContent = 'The server refused this token (401 Unauthorized): it does not match the server\'s -auth-token or a valid API key.';
    } else if (e.status === 403) {
      $('#login-msg').textContent = 'This key is valid but may not read every index (403): ' + e.message;
    } else {
      $('#login-msg').textContent = 'Sign-in failed: ' + e.message;
    }
  }
}

onUnauthorized(() => {
  const had = !!token();
  clearToken();
  askToken(had ? 'The token is no longer accepted (401). Enter it again.' : '');
});

async function start() {
  $('#login-form').addEventListener('submit', signIn);
  $('#login').addEventListener('cancel', (e) => e.preventDefault());
  $('#logout').addEventListener('click', () => { clearToken(); location.reload(); });
  $('#index-select').addEventListener('change', (e) => { ctx.select(e.target.value); route(); });
  window.addEventListener('hashchange', route);
  try {
    await ctx.refresh();
  } catch (e) {
    if (e.status === 401) return; // the login dialog is open
    clear($('#view')).append(h('p', { class: 'error' }, 'Cannot load the dashboard: ' + e.message));
    return;
  }
  route();
}

start();
