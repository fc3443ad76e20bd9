// Screenshots of each view of the dashboard (docs/ui-*.png) and the explorer's
// measurement with 2,000 nodes, against a running server (KEKTOR_UI_URL, started
// with -auth-token KEKTOR_UI_TOKEN and a vectorizer by shots.sh).

const path = require('path');
const { launch, guardedPage, assert } = require('./harness.js');
const { seedDocs, seedBig } = require('./seed.js');

const BASE = process.env.KEKTOR_UI_URL;
const TOKEN = process.env.KEKTOR_UI_TOKEN;
const OUT = process.env.KEKTOR_UI_SHOTS || path.join(__dirname, '..', '..', 'docs');
const T = { timeout: 60000 };
const RUNS = Number(process.env.KEKTOR_UI_RUNS || 5);

const median = (xs) => { const s = xs.slice().sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

(async () => {
  const problems = [];
  await seedDocs(BASE, TOKEN);
  await seedBig(BASE, TOKEN, 2000);
  const browser = await launch();
  const { page, expect } = await guardedPage(browser, [BASE], problems, { viewport: { width: 1280, height: 760 } });
  const shot = async (name) => {
    await page.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
    await page.screenshot({ path: path.join(OUT, `ui-${name}.png`) });
  };

  expect.statuses = [401];
  await page.goto(BASE + '/ui/');
  await page.locator('#login[open]').waitFor(T);
  await page.fill('#token', 'wrong');
  await page.click('#login-submit');
  await page.waitForFunction(() => /refused/.test(document.querySelector('#login-msg').textContent), null, T);
  await shot('login');
  await page.fill('#token', TOKEN);
  await page.click('#login-submit');
  await page.locator('#index-list tr[data-index="docs"]').waitFor(T);
  expect.statuses = [];
  await page.waitForTimeout(300);
  await shot('indexes');

  await page.selectOption('#index-select', 'docs');
  await page.goto(BASE + '/ui/#/points');
  await page.fill('#points-filter', "source = 'astronomy'");
  await page.press('#points-filter', 'Enter');
  await page.locator('#points-list tr[data-id="astronomy-2"]').click();
  await page.locator('#inspector #edges table').waitFor(T);
  await shot('points');

  await page.goto(BASE + '/ui/#/search');
  await page.fill('#search-text', 'how do I bake bread at home');
  await page.fill('#search-k', '8');
  await page.fill('#search-rels', 'parent');
  await page.click('#search-run');
  await page.locator('#search-results tbody tr').first().waitFor(T);
  await page.click('#search-compare');
  await page.waitForFunction(() => document.querySelector('#search-recall').dataset.recall !== undefined, null, T);
  await shot('search');

  await page.goto(BASE + '/ui/#/graph');
  await page.fill('#graph-limit', '160');
  await page.click('#graph-load');
  await page.waitForFunction(() => window.__kektorGraph && window.__kektorGraph.stats.settledMs !== null, null, T);
  await shot('graph');

  await page.goto(BASE + '/ui/#/pipelines');
  await page.locator('#vectorizers tr[data-vectorizer]').first().waitFor(T);
  await shot('pipelines');

  // The explorer with 2,000 nodes: request to first draw, CPU time per frame while
  // the layout moves (tick + draw), the gaps between animation frames, the time
  // until the layout settles, and the cost of one redraw (pan or zoom) after.
  await page.selectOption('#index-select', 'big');
  await page.goto(BASE + '/ui/#/graph');
  await page.waitForFunction(() => window.__kektorGraph && window.__kektorGraph.stats.settledMs !== null, null, T);
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    await page.fill('#graph-limit', '2000');
    await page.evaluate(() => { window.__before = window.__kektorGraph.stats; });
    await page.click('#graph-load');
    // A load replaces the stats object: wait for this load's, settled.
    await page.waitForFunction(() => {
      const g = window.__kektorGraph;
      return g.stats !== window.__before && g.nodes.length >= 2000 && g.stats.settledMs !== null;
    }, null, T);
    runs.push(await page.evaluate(() => {
      const g = window.__kektorGraph;
      const s = g.summary();
      const t0 = performance.now();
      for (let j = 0; j < 30; j++) { g.view.k *= j % 2 ? 1.1 : 1 / 1.1; g.draw(); }
      s.redrawMs = (performance.now() - t0) / 30;
      return s;
    }));
  }
  await shot('graph-2000');
  assert(problems.length === 0, problems.join('\n'));
  const m = (k) => median(runs.map((r) => r[k]));
  const version = browser.version();
  const rows = [
    ['nodes / edges drawn', `${m('nodes')} / ${m('edges')}`],
    ['request to first draw', `${m('firstDrawMs').toFixed(0)} ms, of which ${m('fetchMs').toFixed(0)} ms the request and JSON parse`],
    ['CPU per animation frame while the layout moves (tick + draw), mean', `${m('frameMs').toFixed(1)} ms (tick ${m('tickMs').toFixed(1)}, draw ${m('drawMs').toFixed(1)})`],
    ['worst frame', `${m('frameMsMax').toFixed(1)} ms`],
    ['gap between animation frames, median / p95', `${m('rafGapMedianMs').toFixed(1)} / ${m('rafGapP95Ms').toFixed(1)} ms`],
    ['frames until the layout settles / time', `${m('frames')} / ${(m('settledMs') / 1000).toFixed(1)} s`],
    ['one redraw after it settles (pan, zoom)', `${m('redrawMs').toFixed(1)} ms`],
  ];
  console.log(`Explorer with 2,000 nodes, headless Chromium ${version}, median of ${RUNS} loads:\n`);
  console.log('| measure | value |\n| --- | --- |');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  await browser.close();
})().catch((e) => { console.error(e); process.exit(1); });
