/**
 * Frontend benchmark: the Data Lake panel rendering a page of 1,000 results and scrolling to the end.
 *
 * Run by run.py (never by the test command), with playwright-core from ui-tests/node_modules and
 * Debian's Chromium, against a JupyterLab that run.py started on the benchmark lake:
 *
 *   NODE_PATH=ui-tests/node_modules BENCH_LAB_URL=http://127.0.0.1:PORT BENCH_LAB_TOKEN=T \
 *   BENCH_CHROMIUM=/usr/bin/chromium BENCH_OUT=result.json BENCH_QUERY='survey:SRV_obs_*.fits' \
 *   BENCH_RESULTS=1000 node benchmarks/frontend.js
 *
 * The user settings run.py writes make the panel ask for BENCH_RESULTS results per page
 * (searchPageSize). Writes a JSON object to BENCH_OUT; every step is bounded by a timeout.
 */
'use strict';

const fs = require('fs');
const { chromium } = require('playwright-core');

const LAB = process.env.BENCH_LAB_URL;
const TOKEN = process.env.BENCH_LAB_TOKEN;
const OUT = process.env.BENCH_OUT;
const QUERY = process.env.BENCH_QUERY || 'survey:SRV_obs_*.fits';
const WANTED = parseInt(process.env.BENCH_RESULTS || '1000', 10);
const PANEL_ID = 'escape-dlaas-panel';

const result = { query: QUERY, results_wanted: WANTED };

function write() {
  fs.writeFileSync(OUT, JSON.stringify(result, null, 1));
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.BENCH_CHROMIUM || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--headless',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run'
    ]
  });
  try {
    const page = await browser.newPage({
      viewport: { width: 1400, height: 900 }
    });
    // Only 127.0.0.1: anything else is refused.
    await page.route(/^https?:\/\/(?!127\.0\.0\.1[:/])/, route =>
      route.abort()
    );

    let t0 = Date.now();
    await page.goto(`${LAB}/lab?token=${TOKEN}`, { timeout: 90000 });
    await page.waitForSelector('#jp-main-dock-panel', { timeout: 90000 });
    await page.waitForSelector(`.lm-TabBar-tab[data-id="${PANEL_ID}"]`, {
      timeout: 60000
    });
    result.lab_ready_s = (Date.now() - t0) / 1000;

    const panel = page.getByRole('region', { name: 'Data Lake' });
    if (!(await panel.isVisible())) {
      await page.click(`.lm-TabBar-tab[data-id="${PANEL_ID}"]`);
    }
    await panel.waitFor({ timeout: 30000 });

    const nameBox = panel.getByLabel('Name pattern', { exact: true });
    const searchButton = panel.getByRole('button', {
      name: 'Search',
      exact: true
    });
    let controls = true;
    try {
      await nameBox.waitFor({ timeout: 30000 });
      await searchButton.waitFor({ timeout: 5000 });
    } catch {
      controls = false;
    }
    result.panel_controls_found = controls;
    if (!controls) {
      if (process.env.BENCH_SCREENSHOT) {
        await page.screenshot({ path: process.env.BENCH_SCREENSHOT });
        result.screenshot = process.env.BENCH_SCREENSHOT;
      }
      result.todo =
        'the panel has no "Name pattern" field and "Search" button yet: render and scroll not measured';
      return;
    }
    await nameBox.fill(QUERY);
    const type = panel.getByLabel('Type', { exact: true });
    if ((await type.count()) > 0) {
      await type.selectOption('file');
    }

    // The first /search answer: server time vs. what the browser adds to show it.
    const answer = page.waitForResponse(
      r =>
        r.url().includes('/escape-dlaas/instances/') &&
        r.url().includes('/search'),
      { timeout: 120000 }
    );
    const list = panel.getByRole('list', { name: 'Results' });
    t0 = Date.now();
    await searchButton.click();
    const response = await answer;
    const tResponse = Date.now();
    const body = await response.json();
    const items = body.items || [];
    result.first_page_items = items.length;
    result.server_answer_s = (tResponse - t0) / 1000;
    await list.getByRole('listitem').first().waitFor({ timeout: 60000 });
    // two animation frames: the rows are painted
    await page.evaluate(
      () =>
        new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))
    );
    const tShown = Date.now();
    result.first_page_shown_s = (tShown - t0) / 1000;
    result.render_after_answer_s = (tShown - tResponse) / 1000;
    result.rows_in_dom = await list.getByRole('listitem').count();

    // Scroll to the end of the page like a wheel would (in 25 steps), then until the last row is shown.
    if (items.length > 0) {
      const lastDid = items[items.length - 1].did;
      const handle = await list.elementHandle();
      // record every frame's duration while scrolling
      await page.evaluate(() => {
        window.__benchFrames = [];
        let last = performance.now();
        const tick = now => {
          window.__benchFrames.push(now - last);
          last = now;
          if (window.__benchFrames.length < 5000) {
            window.__benchRaf = requestAnimationFrame(tick);
          }
        };
        window.__benchRaf = requestAnimationFrame(tick);
      });
      t0 = Date.now();
      for (let step = 1; step <= 25; step++) {
        await handle.evaluate((node, s) => {
          node.scrollTop = ((node.scrollHeight - node.clientHeight) * s) / 25;
        }, step);
        await page.evaluate(() => new Promise(r => requestAnimationFrame(r)));
      }
      await list
        .getByRole('listitem', { name: lastDid, exact: true })
        .waitFor({ timeout: 60000 });
      result.scroll_to_end_s = (Date.now() - t0) / 1000;
      const frames = await page.evaluate(() => {
        cancelAnimationFrame(window.__benchRaf);
        return window.__benchFrames;
      });
      frames.sort((a, b) => a - b);
      result.scroll_frames = frames.length;
      result.scroll_frame_p95_ms = frames.length
        ? Math.round(frames[Math.floor(0.95 * (frames.length - 1))] * 10) / 10
        : null;
      result.scroll_frame_max_ms = frames.length
        ? Math.round(frames[frames.length - 1] * 10) / 10
        : null;
      result.rows_in_dom_at_end = await list.getByRole('listitem').count();
    }
    const heap = await page.evaluate(() =>
      performance.memory ? performance.memory.usedJSHeapSize : null
    );
    result.js_heap_mb = heap ? Math.round(heap / 1048576) : null;
  } finally {
    write();
    await browser.close();
  }
}

main().catch(error => {
  result.error = String(error && error.stack ? error.stack : error).slice(
    0,
    2000
  );
  write();
  process.exitCode = 1;
});
