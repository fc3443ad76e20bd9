// The dashboard in a real browser against the real binary: KEKTOR_UI_URL is a
// server without a token (seeded here with real data, embedded by its local
// model), KEKTOR_UI_AUTH_URL one started with -auth-token KEKTOR_UI_TOKEN. Fails
// on any request to a non-local URL and on any JavaScript error.

const { launch, guardedPage, runner, assert } = require('./harness.js');
const { seedDocs } = require('./seed.js');

const BASE = process.env.KEKTOR_UI_URL;
const AUTH = process.env.KEKTOR_UI_AUTH_URL;
const TOKEN = process.env.KEKTOR_UI_TOKEN;
const T = { timeout: 20000 };

async function canvasInk(page) {
  return page.evaluate(() => {
    const c = document.querySelector('#graph-canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 0; i < d.length; i += 4) {
      // The background is #0f172a (15, 23, 42).
      if (Math.abs(d[i] - 15) + Math.abs(d[i + 1] - 23) + Math.abs(d[i + 2] - 42) > 60) ink++;
    }
    return ink;
  });
}

(async () => {
  const problems = [];
  const r = runner();
  const seeded = await seedDocs(BASE, null);
  await seedDocs(AUTH, TOKEN);
  const browser = await launch();
  const { page, expect } = await guardedPage(browser, [BASE, AUTH], problems);

  await r.check('the dashboard loads and lists the indexes with their figures', async () => {
    await page.goto(BASE + '/ui/');
    const row = page.locator('#index-list tr[data-index="docs"]');
    await row.waitFor(T);
    const cells = await row.locator('td').allInnerTexts();
    assert(cells[1].replace(/,/g, '') === String(seeded.items), 'items: ' + cells[1]);
    assert(cells[2] === '384', 'dimension: ' + cells[2]);
    assert(cells[3] === 'cosine' && cells[4] === 'float32' && cells[6] === 'english', cells.join('|'));
    assert(/local/.test(cells[7]), 'embedder: ' + cells[7]);
  });

  await r.check('create an index, then delete it after confirming', async () => {
    await page.fill('#new-name', 'scratch');
    await page.selectOption('#new-metric', 'euclidean');
    await page.click('#create-index button[type=submit]');
    await page.locator('#index-list tr[data-index="scratch"]').waitFor(T);
    await page.locator('#index-list tr[data-index="scratch"] button.danger').click();
    assert(await page.locator('#confirm-ok').isDisabled(), 'delete is enabled before the name is typed');
    await page.fill('#confirm-input', 'scratch');
    await page.click('#confirm-ok');
    await page.locator('#index-list tr[data-index="scratch"]').waitFor({ state: 'detached', timeout: 20000 });
  });

  await r.check('a log rewrite runs as a task and completes', async () => {
    await page.click('#aof-rewrite');
    await page.locator('#tasks .badge.completed').first().waitFor(T);
  });

  await r.check('the search debugger finds the topic of a text query, with scores and times', async () => {
    await page.selectOption('#index-select', 'docs');
    await page.goto(BASE + '/ui/#/search');
    await page.fill('#search-text', 'baking bread and cakes in the kitchen oven');
    await page.click('#search-run');
    await page.locator('#search-results tbody tr').first().waitFor(T);
    const ids = await page.locator('#search-results tbody tr').evaluateAll((rows) => rows.map((x) => x.dataset.id));
    assert(ids.length === 10, 'results: ' + ids.length);
    assert(ids.slice(0, 3).every((id) => id.startsWith('cooking-')), 'top 3: ' + ids.slice(0, 3));
    const summary = await page.textContent('#search-summary');
    assert(/hybrid \(alpha 0\.50\)/.test(summary) && /search [\d.]+ ms/.test(summary), summary);
    const first = await page.locator('#search-results tbody tr').first().locator('td').allInnerTexts();
    const score = Number(first[2]);
    const parts = Number(first[4].split('\n')[0]) + Number(first[5].split('\n')[0]);
    assert(score > 0 && Math.abs(parts - score) < 2e-3, `score ${score} vs parts ${parts}`);
  });

  await r.check('compare with exact search shows recall@k', async () => {
    await page.click('#search-compare');
    await page.waitForFunction(() => document.querySelector('#search-recall').dataset.recall !== undefined, null, T);
    const text = await page.textContent('#search-recall');
    const recall = Number(await page.getAttribute('#search-recall', 'data-recall'));
    assert(/recall@10 = /.test(text) && recall >= 0.9 && recall <= 1, text);
  });

  await r.check('relations are expanded in the results, and a filter narrows them', async () => {
    await page.fill('#search-rels', 'next,parent');
    await page.fill('#search-filter', "source = 'music'");
    await page.click('#search-run');
    await page.waitForFunction(() => [...document.querySelectorAll('#search-results tbody tr')].length > 0
      && [...document.querySelectorAll('#search-results tbody tr')].every((r) => r.dataset.id.startsWith('music-')), null, T);
    const rels = await page.locator('#search-results .badge.rel').allInnerTexts();
    assert(rels.includes('parent') && rels.includes('next'), 'relations: ' + rels);
  });

  await r.check('a filter parse error is shown with its position', async () => {
    expect.statuses = [400];
    await page.goto(BASE + '/ui/#/points');
    await page.locator('#points-list tbody tr').first().waitFor(T);
    await page.fill('#points-filter', "type = 'chunk' AND chunk_index <<");
    await page.press('#points-filter', 'Enter');
    await page.locator('#points-error pre.caret').waitFor(T);
    const err = await page.textContent('#points-error');
    assert(/position 32/.test(err), err);
    const caret = (await page.textContent('#points-error pre.caret')).split('\n')[1];
    assert(caret.indexOf('^') === 32, 'caret at ' + caret.indexOf('^'));
    expect.statuses = [];
  });

  const counter = async (want) => {
    try {
      await page.waitForFunction((w) => document.querySelector('#points-count').textContent === w, want, T);
    } catch (e) {
      throw new Error(`points counter: wanted "${want}", shows "${await page.textContent('#points-count')}"`);
    }
  };

  await r.check('browse points page by page with a filter', async () => {
    await page.fill('#points-filter', "source = 'history'");
    await page.press('#points-filter', 'Enter');
    await counter('1–25 of 25');
    await page.fill('#points-filter', '');
    await page.selectOption('#points-size', '25');
    await counter(`1–25 of ${seeded.items}`);
    await page.click('#points-next');
    await counter(`26–50 of ${seeded.items}`);
  });

  await r.check('the inspector shows metadata, vector and edges, and travels in time', async () => {
    await page.fill('#points-filter', "source = 'weather' AND chunk_index = 3");
    await page.press('#points-filter', 'Enter');
    await page.locator('#points-list tr[data-id="weather-3"]').click();
    await page.locator('#inspector #edges table').waitFor(T);
    const text = await page.textContent('#inspector');
    assert(/384 dimensions/.test(text) && /weather-4/.test(text) && /doc:weather/.test(text), text.slice(0, 400));
    await page.fill('#at-time', '2001-01-01T00:00:00');
    await page.dispatchEvent('#at-time', 'change');
    await page.waitForFunction(() => /No edge at that time/.test(document.querySelector('#edges').textContent), null, T);
  });

  await r.check('find similar from a point runs a vector search', async () => {
    await page.click('#find-similar');
    await page.locator('#search-results tbody tr').first().waitFor(T);
    const firstId = await page.locator('#search-results tbody tr').first().getAttribute('data-id');
    const summary = await page.textContent('#search-summary');
    assert(firstId === 'weather-3' && / vector /.test(summary), firstId + ' / ' + summary);
  });

  await r.check('the explorer draws a sample and expands a node', async () => {
    await page.goto(BASE + '/ui/#/graph');
    await page.fill('#graph-limit', '40');
    await page.click('#graph-load');
    await page.waitForFunction(() => Number(document.querySelector('#graph-stats').dataset.nodes) > 40, null, T);
    await page.waitForFunction(() => window.__kektorGraph && window.__kektorGraph.summary().frames > 30, null, T);
    const ink = await canvasInk(page);
    assert(ink > 500, 'canvas pixels drawn: ' + ink);
    const before = await page.evaluate(() => window.__kektorGraph.edges.length);
    // Double-click a node drawn hollow (a neighbour outside the sample).
    await page.waitForFunction(() => window.__kektorGraph.alpha < 0.05, null, { timeout: 30000 });
    const target = await page.evaluate(() => {
      const g = window.__kektorGraph;
      const n = g.nodes.find((x) => x.ghost && x.id.startsWith('doc:')) || g.nodes.find((x) => x.ghost);
      g.focus(n.id);
      const r = g.canvas.getBoundingClientRect();
      return { id: n.id, x: r.left + n.x * g.view.k + g.view.x, y: r.top + n.y * g.view.k + g.view.y };
    });
    await page.mouse.dblclick(target.x, target.y);
    // Expanded: the node joins the drawing with its edges.
    await page.waitForFunction((id) => !window.__kektorGraph.byId.get(id).ghost, target.id, T);
    const after = await page.evaluate(() => window.__kektorGraph.edges.length);
    assert(after > before, `edges ${before} -> ${after}`);
    const sel = await page.textContent('#graph-selected');
    assert(sel === target.id, 'selected: ' + sel);
  });

  await r.check('hiding chunk chains removes next/prev edges', async () => {
    const edges = () => page.evaluate(() => window.__kektorGraph.active.length);
    const all = await edges();
    await page.check('#graph-hide-chains');
    const fewer = await edges();
    const left = await page.evaluate(() => window.__kektorGraph.active.filter((e) => e.relation === 'next' || e.relation === 'prev').length);
    assert(fewer < all && left === 0, `${all} -> ${fewer}, ${left} chain edges left`);
  });

  await r.check('the pipelines view shows a vectorizer\'s files and failures, and triggers it', async () => {
    for (let i = 0; i < 300; i++) {
      const v = (await (await fetch(BASE + '/system/vectorizers')).json())[0];
      if (v && v.runs >= 1 && !v.is_running) break;
      await new Promise((ok) => setTimeout(ok, 100));
    }
    await page.goto(BASE + '/ui/#/pipelines');
    const row = page.locator('#vectorizers tr[data-vectorizer="notes"]');
    await row.waitFor(T);
    const cells = await row.locator('td').allInnerTexts();
    assert(cells[1] === 'notes' && cells[6] === '3 / 4' && cells[8] === '1', cells.join('|'));
    const failures = await page.textContent('#vectorizers');
    assert(/broken\.pdf/.test(failures), failures);
    await row.locator('button').click();
    await page.locator('.toast:has-text("vectorizer \'notes\'")').waitFor(T);
  });

  // A second tab on the server with a token.
  const auth = await guardedPage(browser, [BASE, AUTH], problems);
  await r.check('with a token: the page asks for it, refuses a wrong one clearly, accepts the right one', async () => {
    const p = auth.page;
    auth.expect.statuses = [401];
    await p.goto(AUTH + '/ui/');
    await p.locator('#login[open]').waitFor(T);
    await p.fill('#token', 'not-the-token');
    await p.click('#login-submit');
    await p.waitForFunction(() => /refused this token \(401/.test(document.querySelector('#login-msg').textContent), null, T);
    assert(await p.evaluate(() => sessionStorage.getItem('kektordb.token')) === null, 'a wrong token was kept');
    await p.fill('#token', TOKEN);
    await p.click('#login-submit');
    await p.locator('#index-list tr[data-index="docs"]').waitFor(T);
    assert(!(await p.locator('#login[open]').count()), 'the login dialog is still open');
    assert(await p.evaluate(() => sessionStorage.getItem('kektordb.token')) === TOKEN, 'token not in session storage');
    // Every call carries it: a search works.
    await p.goto(AUTH + '/ui/#/search');
    await p.fill('#search-text', 'goal scored by the striker');
    await p.click('#search-run');
    await p.locator('#search-results tbody tr').first().waitFor(T);
    const first = await p.locator('#search-results tbody tr').first().getAttribute('data-id');
    assert(first.startsWith('football-'), 'first: ' + first);
    // Without the token the data routes answer 401 (the page itself loads).
    const st = await p.evaluate(async () => [(await fetch('/ui/overview')).status, (await fetch('/ui/')).status,
      (await fetch('/ui/search', { method: 'POST', body: '{"index_name":"docs","query":"x"}' })).status]);
    assert(st[0] === 401 && st[1] === 200 && st[2] === 401, 'statuses ' + st);
    auth.expect.statuses = [];
  });

  await r.check('the pipelines view says when no vectorizer is configured', async () => {
    await auth.page.goto(AUTH + '/ui/#/pipelines');
    await auth.page.locator('#no-vectorizers').waitFor(T);
    await auth.page.locator('#no-proxy').waitFor(T);
  });

  await r.check('the page made no request to another host and logged no JavaScript error', async () => {
    assert(problems.length === 0, problems.join('\n'));
  });

  await browser.close();
  process.exit(r.total() ? 1 : 0);
})().catch((e) => { console.error(e); console.log('0 passed, 1 failed'); process.exit(1); });
