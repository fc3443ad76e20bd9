// A force-directed graph on a canvas, written for this dashboard (no library): a
// velocity-Verlet simulation in the manner of d3-force (links as springs, many-body
// repulsion by Barnes-Hut over a quadtree rebuilt each tick, a weak pull to the
// centre, a cooling alpha) drawn with one canvas path per colour, so a few
// thousand nodes stay interactive. Pan by dragging the background, zoom with the
// wheel, drag nodes, click to select, double-click to expand.

const THETA2 = 0.81; // Barnes-Hut theta 0.9, squared
const CHARGE = -30;
const LINK_DISTANCE = 30;
const CENTER_PULL = 0.03;
const BG = '#0f172a';

/** A quadtree over node positions in flat arrays, reused between ticks. */
class Quad {
  constructor() { this.grow(1024); }

  grow(n) {
    const keep = (Old, a) => { const b = new Old(n); if (a) b.set(a.subarray(0, Math.min(a.length, n))); return b; };
    this.x0 = keep(Float64Array, this.x0); this.y0 = keep(Float64Array, this.y0);
    this.size = keep(Float64Array, this.size); this.mx = keep(Float64Array, this.mx);
    this.my = keep(Float64Array, this.my); this.mass = keep(Float64Array, this.mass);
    this.child = keep(Int32Array, this.child); this.body = keep(Int32Array, this.body);
    this.cap = n;
  }

  cell(x0, y0, size) {
    if (this.used === this.cap) this.grow(this.cap * 2);
    const c = this.used++;
    this.x0[c] = x0; this.y0[c] = y0; this.size[c] = size;
    this.mx[c] = 0; this.my[c] = 0; this.mass[c] = 0; this.child[c] = -1; this.body[c] = -1;
    return c;
  }

  quadrant(c, x, y) {
    const half = this.size[c] / 2;
    return (x >= this.x0[c] + half ? 1 : 0) + (y >= this.y0[c] + half ? 2 : 0);
  }

  build(nodes) {
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    for (const n of nodes) {
      if (n.x < x0) x0 = n.x; if (n.x > x1) x1 = n.x;
      if (n.y < y0) y0 = n.y; if (n.y > y1) y1 = n.y;
    }
    this.used = 0;
    this.cell(x0, y0, Math.max(x1 - x0, y1 - y0) + 1);
    for (let i = 0; i < nodes.length; i++) this.insert(nodes, i);
  }

  insert(nodes, i) {
    const { x, y } = nodes[i];
    let c = 0;
    for (let depth = 0; ; depth++) {
      this.mass[c] += 1; this.mx[c] += x; this.my[c] += y;
      if (this.child[c] >= 0) { c = this.child[c] + this.quadrant(c, x, y); continue; }
      if (this.mass[c] === 1) { this.body[c] = i; return; }
      if (depth > 40) { this.body[c] = -2; return; } // coincident points: one aggregate
      const b = this.body[c];
      this.body[c] = -1;
      const half = this.size[c] / 2;
      const first = this.used;
      for (let q = 0; q < 4; q++) this.cell(this.x0[c] + (q & 1 ? half : 0), this.y0[c] + (q & 2 ? half : 0), half);
      this.child[c] = first;
      if (b >= 0) {
        const o = nodes[b];
        const cq = first + this.quadrant(c, o.x, o.y);
        this.mass[cq] = 1; this.mx[cq] = o.x; this.my[cq] = o.y; this.body[cq] = b;
      }
      c = first + this.quadrant(c, x, y);
    }
  }

  /** Adds the repulsion on node `i` to its velocity. */
  repel(nodes, i, alpha, stack) {
    const n = nodes[i];
    let top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const c = stack[--top];
      const m = this.mass[c];
      if (m === 0 || this.body[c] === i) continue;
      let dx = this.mx[c] / m - n.x;
      let dy = this.my[c] / m - n.y;
      let l = dx * dx + dy * dy;
      const leaf = this.child[c] < 0;
      if (leaf || (this.size[c] * this.size[c]) / THETA2 < l) {
        if (l === 0) { dx = (Math.random() - 0.5) * 1e-3; dy = (Math.random() - 0.5) * 1e-3; l = dx * dx + dy * dy; }
        if (l < 1) l = Math.sqrt(l);
        const w = (CHARGE * m * alpha) / l;
        n.vx += dx * w; n.vy += dy * w;
        continue;
      }
      const ch = this.child[c];
      // Depth is at most 41 and each level adds 3: the stack never passes 124.
      stack[top++] = ch; stack[top++] = ch + 1; stack[top++] = ch + 2; stack[top++] = ch + 3;
    }
  }
}

export class GraphView {
  constructor(canvas, opts = {}) {
    this.canvas = canvas;
    this.g = canvas.getContext('2d');
    this.nodes = [];
    this.byId = new Map();
    this.edges = [];
    this.edgeKeys = new Set();
    this.hidden = new Set();
    this.active = [];
    this.alpha = 1;
    this.alphaMin = 0.002;
    this.alphaDecay = 1 - Math.pow(0.002, 1 / 300);
    this.alphaTarget = 0;
    this.view = { k: 1, x: 0, y: 0 };
    this.selected = null;
    this.hover = null;
    this.showLabels = true;
    this.colorOf = opts.colorOf || (() => '#60a5fa');
    this.onSelect = opts.onSelect || (() => {});
    this.onExpand = opts.onExpand || (() => {});
    this.onStats = opts.onStats || (() => {});
    this.quad = new Quad();
    this.stack = new Int32Array(256);
    this.running = false;
    this.dirty = true;
    this.fitPending = false;
    this.resetStats();
    this.bind();
    this.resize();
  }

  resetStats() {
    this.stats = { nodes: 0, edges: 0, firstDrawMs: null, frames: 0, frameMsTotal: 0, frameMsMax: 0,
      tickMsTotal: 0, drawMsTotal: 0, rafGaps: [], lastTs: 0, settledMs: null, loadedAt: 0 };
  }

  /** Frame figures while the layout moves: mean and worst CPU time per frame, fps. */
  summary() {
    const s = this.stats;
    const gaps = s.rafGaps.slice().sort((a, b) => a - b);
    const p = (q) => (gaps.length ? gaps[Math.min(gaps.length - 1, Math.floor(q * gaps.length))] : null);
    return { nodes: this.nodes.length, edges: this.active.length, firstDrawMs: s.firstDrawMs, fetchMs: s.fetchMs ?? null,
      frames: s.frames, frameMs: s.frames ? s.frameMsTotal / s.frames : null, frameMsMax: s.frameMsMax,
      tickMs: s.frames ? s.tickMsTotal / s.frames : null, drawMs: s.frames ? s.drawMsTotal / s.frames : null,
      rafGapMedianMs: p(0.5), rafGapP95Ms: p(0.95), settledMs: s.settledMs };
  }

  /** Replaces the graph. `t0`: when the request for it started (performance.now()). */
  load(nodes, edges, t0 = performance.now()) {
    this.nodes = [];
    this.byId = new Map();
    this.edges = [];
    this.edgeKeys = new Set();
    this.selected = null;
    this.resetStats();
    this.stats.loadedAt = t0;
    this.add(nodes, edges, null);
    this.fit();
    this.draw();
    this.stats.firstDrawMs = performance.now() - t0;
    this.alpha = 1;
    this.fitPending = true;
    this.kick();
  }

  /** Adds nodes and edges (new nodes start around `near`, a node, if given). */
  add(nodes, edges, near) {
    const golden = Math.PI * (3 - Math.sqrt(5));
    for (const d of nodes) {
      const old = this.byId.get(d.id);
      if (old) {
        if (!d.ghost) { old.ghost = false; old.type = d.type; old.label = d.label; old.meta = d.meta; }
        continue;
      }
      const i = this.nodes.length;
      let x; let y;
      if (near) {
        const a = Math.random() * 2 * Math.PI;
        x = near.x + Math.cos(a) * 20; y = near.y + Math.sin(a) * 20;
      } else {
        const r = 10 * Math.sqrt(0.5 + i);
        x = r * Math.cos(i * golden); y = r * Math.sin(i * golden);
      }
      const n = { ...d, x, y, vx: 0, vy: 0, fx: null, fy: null, deg: 0, index: i };
      this.nodes.push(n);
      this.byId.set(d.id, n);
    }
    for (const e of edges) {
      const s = this.byId.get(e.source); const t = this.byId.get(e.target);
      const key = e.source + '\u0000' + e.target + '\u0000' + e.relation;
      if (!s || !t || s === t || this.edgeKeys.has(key)) continue;
      this.edgeKeys.add(key);
      this.edges.push({ source: s, target: t, relation: e.relation });
    }
    this.refreshEdges();
  }

  /** Relations not drawn nor simulated. */
  hide(relations) {
    this.hidden = new Set(relations);
    this.refreshEdges();
    this.reheat(0.3);
  }

  refreshEdges() {
    this.active = this.edges.filter((e) => !this.hidden.has(e.relation));
    for (const n of this.nodes) n.deg = 0;
    for (const e of this.active) { e.source.deg++; e.target.deg++; }
  }

  reheat(a = 0.5) { this.alpha = Math.max(this.alpha, a); this.kick(); }

  tick() {
    const nodes = this.nodes;
    const alpha = (this.alpha += (this.alphaTarget - this.alpha) * this.alphaDecay);
    for (const e of this.active) {
      const s = e.source; const t = e.target;
      let x = t.x + t.vx - s.x - s.vx || 1e-6;
      let y = t.y + t.vy - s.y - s.vy || 1e-6;
      let l = Math.sqrt(x * x + y * y);
      l = ((l - LINK_DISTANCE) / l) * alpha / Math.min(s.deg, t.deg);
      x *= l; y *= l;
      const bias = s.deg / (s.deg + t.deg);
      t.vx -= x * bias; t.vy -= y * bias;
      s.vx += x * (1 - bias); s.vy += y * (1 - bias);
    }
    if (nodes.length > 1) {
      this.quad.build(nodes);
      for (let i = 0; i < nodes.length; i++) this.quad.repel(nodes, i, alpha, this.stack);
    }
    for (const n of nodes) {
      n.vx -= n.x * CENTER_PULL * alpha;
      n.vy -= n.y * CENTER_PULL * alpha;
      if (n.fx !== null) { n.x = n.fx; n.vx = 0; } else { n.vx *= 0.6; n.x += n.vx; }
      if (n.fy !== null) { n.y = n.fy; n.vy = 0; } else { n.vy *= 0.6; n.y += n.vy; }
    }
  }

  radius(n) { return n.ghost ? 3 : 4 + Math.min(5, Math.sqrt(n.deg)); }

  draw() {
    const { g, canvas, view } = this;
    const dpr = this.dpr;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.fillStyle = BG;
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.setTransform(dpr * view.k, 0, 0, dpr * view.k, dpr * view.x, dpr * view.y);
    const k = view.k;
    const pad = 20 / k;
    const x0 = -view.x / k - pad; const y0 = -view.y / k - pad;
    const x1 = x0 + this.cssW / k + 2 * pad; const y1 = y0 + this.cssH / k + 2 * pad;
    const inView = (n) => n.x >= x0 && n.x <= x1 && n.y >= y0 && n.y <= y1;
    // Edges: one path.
    let drawn = 0;
    g.beginPath();
    for (const e of this.active) {
      const s = e.source; const t = e.target;
      if (!inView(s) && !inView(t)) continue;
      g.moveTo(s.x, s.y); g.lineTo(t.x, t.y);
      drawn++;
    }
    g.strokeStyle = 'rgba(148,163,184,0.45)';
    g.lineWidth = 1 / k;
    g.stroke();
    // Arrow heads when they can be seen.
    if (k >= 0.9 && drawn <= 4000) {
      g.beginPath();
      for (const e of this.active) {
        const s = e.source; const t = e.target;
        if (!inView(t)) continue;
        const dx = t.x - s.x; const dy = t.y - s.y; const l = Math.hypot(dx, dy) || 1;
        const ux = dx / l; const uy = dy / l; const r = this.radius(t) + 1;
        const tx = t.x - ux * r; const ty = t.y - uy * r; const a = 5;
        g.moveTo(tx, ty);
        g.lineTo(tx - ux * a - uy * a * 0.5, ty - uy * a + ux * a * 0.5);
        g.lineTo(tx - ux * a + uy * a * 0.5, ty - uy * a - ux * a * 0.5);
      }
      g.fillStyle = 'rgba(148,163,184,0.8)';
      g.fill();
    }
    // Nodes: one path per colour; graph-only neighbours hollow.
    const groups = new Map();
    let visible = 0;
    for (const n of this.nodes) {
      if (!inView(n)) continue;
      visible++;
      const c = n.ghost ? 'ghost' : this.colorOf(n);
      let list = groups.get(c);
      if (!list) groups.set(c, (list = []));
      list.push(n);
    }
    for (const [c, list] of groups) {
      g.beginPath();
      for (const n of list) { const r = this.radius(n); g.moveTo(n.x + r, n.y); g.arc(n.x, n.y, r, 0, 2 * Math.PI); }
      if (c === 'ghost') { g.strokeStyle = '#94a3b8'; g.lineWidth = 1.2 / k; g.stroke(); } else { g.fillStyle = c; g.fill(); }
    }
    for (const n of [this.hover, this.selected]) {
      if (!n) continue;
      g.beginPath(); g.arc(n.x, n.y, this.radius(n) + 3 / k, 0, 2 * Math.PI);
      g.strokeStyle = n === this.selected ? '#fbbf24' : '#e2e8f0'; g.lineWidth = 2 / k; g.stroke();
    }
    // Labels when zoomed in far enough to read them.
    g.font = `${11 / k}px system-ui, sans-serif`;
    g.textBaseline = 'middle';
    if (this.showLabels && k >= 1.8 && drawn <= 400) {
      // One label per pair of nodes ("next / prev" for an edge and its inverse).
      const pairs = new Map();
      for (const e of this.active) {
        const s = e.source; const t = e.target;
        if (!inView(s) && !inView(t)) continue;
        const key = s.index < t.index ? s.index + ':' + t.index : t.index + ':' + s.index;
        const p = pairs.get(key);
        if (p) { if (!p.rels.includes(e.relation)) p.rels.push(e.relation); } else pairs.set(key, { s, t, rels: [e.relation] });
      }
      g.fillStyle = '#cbd5e1';
      g.textAlign = 'center';
      for (const { s, t, rels } of pairs.values()) g.fillText(rels.join(' / '), (s.x + t.x) / 2, (s.y + t.y) / 2);
    }
    g.textAlign = 'left';
    g.fillStyle = '#f1f5f9';
    const labelled = this.showLabels && k >= 1.6 && visible <= 500 ? this.nodes.filter(inView) : [];
    for (const n of labelled.concat([this.hover, this.selected].filter(Boolean))) {
      g.fillText(n.label || n.id, n.x + this.radius(n) + 3 / k, n.y);
    }
  }

  frame(ts) {
    const t0 = performance.now();
    const moving = this.alpha >= this.alphaMin || this.alphaTarget > 0;
    if (moving) this.tick();
    const t1 = performance.now();
    if (moving || this.dirty) this.draw();
    const t2 = performance.now();
    this.dirty = false;
    const s = this.stats;
    if (moving) {
      s.frames++;
      s.tickMsTotal += t1 - t0; s.drawMsTotal += t2 - t1;
      s.frameMsTotal += t2 - t0; s.frameMsMax = Math.max(s.frameMsMax, t2 - t0);
      if (s.lastTs && s.rafGaps.length < 2000) s.rafGaps.push(ts - s.lastTs);
      s.lastTs = ts;
      if (this.fitPending && this.alpha < 0.05) { this.fitPending = false; this.fit(); }
      if (s.frames % 15 === 0) this.onStats(this.summary());
    } else if (s.settledMs === null && s.frames) {
      s.settledMs = performance.now() - s.loadedAt;
      this.onStats(this.summary());
    }
    if (moving || this.dragging || this.dirty) this.raf = requestAnimationFrame((t) => this.frame(t));
    else this.running = false;
  }

  kick() {
    if (this.running || this.destroyed) return;
    this.running = true;
    this.raf = requestAnimationFrame((t) => this.frame(t));
  }

  redraw() { this.dirty = true; this.kick(); }

  fit() {
    if (!this.nodes.length) return;
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    for (const n of this.nodes) { x0 = Math.min(x0, n.x); x1 = Math.max(x1, n.x); y0 = Math.min(y0, n.y); y1 = Math.max(y1, n.y); }
    const w = Math.max(x1 - x0, 1) + 40; const hgt = Math.max(y1 - y0, 1) + 40;
    const k = Math.min(4, Math.max(0.05, Math.min(this.cssW / w, this.cssH / hgt)));
    this.view = { k, x: this.cssW / 2 - ((x0 + x1) / 2) * k, y: this.cssH / 2 - ((y0 + y1) / 2) * k };
    this.redraw();
  }

  /** Centres the view on a node and selects it. */
  focus(id) {
    const n = this.byId.get(id);
    if (!n) return false;
    this.fitPending = false;
    this.selected = n;
    const k = Math.max(this.view.k, 1.5);
    this.view = { k, x: this.cssW / 2 - n.x * k, y: this.cssH / 2 - n.y * k };
    this.redraw();
    this.onSelect(n);
    return true;
  }

  resize() {
    const r = this.canvas.getBoundingClientRect();
    this.dpr = window.devicePixelRatio || 1;
    this.cssW = Math.max(100, r.width);
    this.cssH = Math.max(100, r.height);
    this.canvas.width = Math.round(this.cssW * this.dpr);
    this.canvas.height = Math.round(this.cssH * this.dpr);
    this.redraw();
  }

  toWorld(ev) {
    const r = this.canvas.getBoundingClientRect();
    const sx = ev.clientX - r.left; const sy = ev.clientY - r.top;
    return { sx, sy, x: (sx - this.view.x) / this.view.k, y: (sy - this.view.y) / this.view.k };
  }

  hit(p) {
    let best = null; let bd = Infinity;
    for (const n of this.nodes) {
      const d = Math.hypot(n.x - p.x, n.y - p.y);
      if (d < this.radius(n) + 4 / this.view.k && d < bd) { best = n; bd = d; }
    }
    return best;
  }

  bind() {
    const c = this.canvas;
    let down = null;
    this.handlers = {
      pointerdown: (ev) => {
        const p = this.toWorld(ev);
        const n = this.hit(p);
        c.setPointerCapture(ev.pointerId);
        down = { p, n, vx: this.view.x, vy: this.view.y, moved: false };
        if (n) { this.dragging = n; n.fx = n.x; n.fy = n.y; }
      },
      pointermove: (ev) => {
        const p = this.toWorld(ev);
        if (down) {
          if (Math.hypot(p.sx - down.p.sx, p.sy - down.p.sy) > 3) down.moved = true;
          if (down.n && down.moved) {
            down.n.fx = p.x; down.n.fy = p.y;
            this.alphaTarget = 0.3; this.kick();
          } else if (!down.n) {
            this.view.x = down.vx + (p.sx - down.p.sx); this.view.y = down.vy + (p.sy - down.p.sy);
            this.redraw();
          }
          return;
        }
        const n = this.hit(p);
        if (n !== this.hover) { this.hover = n; c.style.cursor = n ? 'pointer' : 'grab'; this.redraw(); }
      },
      pointerup: () => {
        if (!down) return;
        if (down.n) { down.n.fx = null; down.n.fy = null; this.alphaTarget = 0; this.dragging = null; }
        if (!down.moved) { this.selected = down.n; this.onSelect(down.n); this.redraw(); }
        down = null;
      },
      dblclick: (ev) => { const n = this.hit(this.toWorld(ev)); if (n) this.onExpand(n); },
      wheel: (ev) => {
        ev.preventDefault();
        const p = this.toWorld(ev);
        const k = Math.min(8, Math.max(0.05, this.view.k * Math.exp(-ev.deltaY * 0.0015)));
        this.view.x = p.sx - p.x * k; this.view.y = p.sy - p.y * k; this.view.k = k;
        this.redraw();
      },
    };
    for (const [name, fn] of Object.entries(this.handlers)) c.addEventListener(name, fn, name === 'wheel' ? { passive: false } : undefined);
    this.observer = new ResizeObserver(() => this.resize());
    this.observer.observe(c);
  }

  destroy() {
    this.destroyed = true;
    cancelAnimationFrame(this.raf);
    this.observer.disconnect();
    for (const [name, fn] of Object.entries(this.handlers)) this.canvas.removeEventListener(name, fn);
  }
}
