// Browse points: pages of an index's items in storage order, with a metadata
// filter (parse errors shown at their position) and the node inspector.

import { post } from './api.js';
import { clear, fmtNum, h, preview, showFilterError, table } from './dom.js';
import { inspect } from './inspector.js';

export async function mount(box, ctx, params) {
  if (!ctx.index) { box.append(h('p', { class: 'muted' }, 'No index: create one in Indexes.')); return; }
  let offset = 0;
  let filter = params.filter || '';
  const filterInput = h('input', { id: 'points-filter', class: 'mono wide', value: filter, placeholder: "e.g. type = 'chunk' AND chunk_index < 3", 'aria-label': 'filter' });
  const size = h('select', { id: 'points-size', 'aria-label': 'page size' }, [25, 50, 100, 250].map((n) => h('option', { value: n, text: n + ' per page' })));
  size.value = '50';
  const errBox = h('div', { id: 'points-error', hidden: true });
  const counter = h('span', { id: 'points-count', class: 'muted' });
  const prev = h('button', { id: 'points-prev', type: 'button', class: 'small', onclick: () => { offset = Math.max(0, offset - Number(size.value)); load(); } }, '← Prev');
  const next = h('button', { id: 'points-next', type: 'button', class: 'small', onclick: () => { offset += Number(size.value); load(); } }, 'Next →');
  const list = h('div', { id: 'points-list' });
  const side = h('aside', { id: 'inspector', class: 'panel' }, h('p', { class: 'muted' }, 'Select a point to inspect it.'));
  const form = h('form', { class: 'toolbar' }, filterInput, size, h('button', { type: 'submit' }, 'Apply'), prev, next, counter);
  form.onsubmit = (e) => { e.preventDefault(); filter = filterInput.value; offset = 0; load(); };
  size.onchange = () => { offset = 0; load(); };

  async function load() {
    filter = filterInput.value;
    let page;
    try {
      page = await post('/ui/points', { index_name: ctx.index, offset, limit: Number(size.value), filter });
      showFilterError(errBox, filter, null);
    } catch (e) {
      showFilterError(errBox, filter, e);
      return;
    }
    clear(list);
    const n = page.data.length;
    counter.textContent = n
      ? `${fmtNum(offset + 1)}–${fmtNum(offset + n)} of ${page.total_exact ? '' : '≥ '}${fmtNum(page.total_count)}`
      : 'no point' + (filter ? ' matches this filter' : '');
    prev.disabled = offset === 0;
    next.disabled = !page.has_more;
    const rows = page.data.map((p) => {
      const tr = h('tr', { class: 'clickable', 'data-id': p.id, onclick: () => {
        for (const r of list.querySelectorAll('tr.selected')) r.classList.remove('selected');
        tr.classList.add('selected');
        inspect(side, ctx, p.id);
      } },
      h('td', { class: 'mono' }, p.id),
      h('td', {}, h('span', { class: 'badge' }, p.entity ? 'node' : (p.metadata?.type || 'item'))),
      h('td', {}, preview(p.metadata, 120)),
      h('td', { class: 'muted small' }, Object.keys(p.metadata || {}).join(', ')));
      return tr;
    });
    list.append(table(['id', 'kind', 'content', 'metadata keys'], rows, { class: 'grid' }));
  }

  box.append(h('h1', {}, 'Points of ', h('span', { class: 'mono' }, ctx.index)), form, errBox,
    h('div', { class: 'split' }, list, side));
  await load();
  if (params.inspect) inspect(side, ctx, params.inspect);
}
