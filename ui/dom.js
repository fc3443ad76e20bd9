// Small DOM helpers: elements are built with h() and filled with text, never with
// HTML strings, so data from the database cannot inject markup.

export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, kids);
  return el;
}

function append(el, kids) {
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    if (Array.isArray(k)) append(el, k);
    else el.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
}

export const $ = (sel, root = document) => root.querySelector(sel);

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '';
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = n;
  while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
  return (i === 0 ? x : x.toFixed(1)) + ' ' + u[i];
}

export const fmtNum = (n) => (n === null || n === undefined ? '' : Number(n).toLocaleString('en-US'));

export function fmtScore(x) {
  return x === null || x === undefined ? '' : Number(x).toFixed(4);
}

/** A unix-nanosecond time as local date and time. */
export function fmtNanos(ns) {
  if (!ns) return '';
  return new Date(Number(ns) / 1e6).toLocaleString('sv-SE');
}

/** Nanoseconds as a Go-style duration. */
export function fmtDuration(ns) {
  if (!ns) return 'off';
  const s = ns / 1e9;
  if (s % 3600 === 0) return s / 3600 + 'h';
  if (s % 60 === 0) return s / 60 + 'm';
  return s + 's';
}

/** The text an item is about: metadata content, else text, else its first string. */
export function preview(meta, max = 160) {
  if (!meta) return '';
  let t = meta.content ?? meta.text ?? meta.name ?? meta.title;
  if (typeof t !== 'string') t = Object.values(meta).find((v) => typeof v === 'string') || '';
  return t.length > max ? t.slice(0, max) + '…' : t;
}

export function toast(msg, kind = 'info') {
  const box = $('#toasts');
  const el = h('div', { class: 'toast ' + kind, role: kind === 'error' ? 'alert' : 'status' }, msg);
  box.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 4000);
}

/**
 * Shows an API error under a filter box; a filter parse error ("filter: at position
 * N: ...", N a byte offset) gets a caret under the character it points at.
 */
export function showFilterError(box, filterText, err) {
  clear(box);
  if (!err) { box.hidden = true; return; }
  box.hidden = false;
  const msg = err.message || String(err);
  box.append(h('div', { class: 'error' }, msg));
  const m = /filter: at position (\d+)/.exec(msg);
  if (m && filterText !== undefined) {
    const bytes = new TextEncoder().encode(filterText);
    const chars = new TextDecoder().decode(bytes.slice(0, Number(m[1]))).length;
    box.append(h('pre', { class: 'caret' }, filterText + '\n' + ' '.repeat(chars) + '^'));
  }
}

export function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', { class: 'muted' }, hint) : null);
}

export function table(headers, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows));
}

/** Asks for confirmation in the page's dialog; `typed`: the text to type first. */
export function confirmDialog(title, text, typed) {
  const dlg = $('#confirm');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  const input = $('#confirm-input');
  input.value = '';
  input.hidden = !typed;
  input.placeholder = typed || '';
  const ok = $('#confirm-ok');
  ok.disabled = !!typed;
  input.oninput = () => { ok.disabled = input.value !== typed; };
  return new Promise((resolve) => {
    const done = (v) => { dlg.close(); resolve(v); };
    $('#confirm-cancel').onclick = () => done(false);
    $('#confirm-form').onsubmit = (e) => { e.preventDefault(); if (!ok.disabled) done(true); };
    dlg.oncancel = () => resolve(false);
    dlg.showModal();
    (typed ? input : ok).focus();
  });
}
