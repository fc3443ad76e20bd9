// What the dashboard's browser scripts share: playwright-core (installed by
// setup.sh into a cache outside the repository, found through KEKTOR_UI_NODE)
// driving Debian's chromium headless, with every request that leaves the server
// under test refused and recorded, and every JavaScript error recorded.

const path = require('path');
const { chromium } = require(path.join(process.env.KEKTOR_UI_NODE, 'node_modules', 'playwright-core'));

async function launch() {
  return chromium.launch({
    executablePath: process.env.KEKTOR_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/**
 * A page whose requests may only go to `allowed` origins; `problems` collects
 * non-local requests, page errors and console errors not expected by the step
 * (set `expect.statuses` to the HTTP statuses a step provokes on purpose).
 */
async function guardedPage(browser, allowed, problems, opts = {}) {
  const context = await browser.newContext({ viewport: opts.viewport || { width: 1400, height: 900 }, deviceScaleFactor: opts.scale || 1 });
  const expect = { statuses: [] };
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (allowed.some((a) => url.startsWith(a)) || url.startsWith('data:')) return route.continue();
    problems.push('request to a non-local URL: ' + url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => problems.push('JavaScript error: ' + e.message));
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = m.text();
    const st = /status of (\d+)/.exec(text);
    if (st && expect.statuses.includes(Number(st[1]))) return;
    problems.push('console error: ' + text);
  });
  page.on('requestfailed', (r) => {
    if (allowed.some((a) => r.url().startsWith(a))) problems.push('request failed: ' + r.url() + ' ' + (r.failure() || {}).errorText);
  });
  return { context, page, expect };
}

/** Runs named checks in order; prints one line each and a total. */
function runner() {
  let passed = 0; let failed = 0;
  return {
    async check(name, fn) {
      const t0 = Date.now();
      try {
        await fn();
        passed++;
        console.log(`ok - ${name} (${Date.now() - t0} ms)`);
      } catch (e) {
        failed++;
        console.log(`not ok - ${name}: ${e.stack || e}`);
      }
    },
    total() { console.log(`${passed} passed, ${failed} failed`); return failed; },
  };
}

function assert(cond, msg) { if (!cond) throw new Error(msg); }

module.exports = { launch, guardedPage, runner, assert };
