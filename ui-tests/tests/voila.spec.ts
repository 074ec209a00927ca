/**
 * The search widget as a Voilà dashboard: notebooks/search-app.ipynb, unchanged,
 * served by a standalone `voila` (the `voila` extra) on a free 127.0.0.1 port,
 * its kernel finding the real local lake as the lake advises
 * (JUPYTER_CONFIG_PATH=$ESCAPE_DLAAS_LAKE_DIR/jupyter). In Debian's Chromium:
 * the form renders with no error, a metadata search lists the lake's datasets
 * with their availability, "Make available" follows the rule to the notebook's
 * storage, the light and dark themes colour the form, and no token reaches the page.
 */
import { expect, Locator, Page, test } from '@playwright/test';
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import {
  cancelRules,
  ILake,
  ILakeUser,
  luminance,
  NEEDS_LAKE,
  readLake
} from './lake';

const NOTEBOOK = path.resolve(__dirname, '../../notebooks/search-app.ipynb');
// Seeded by escape_dlaas/lake/runtime/seed.py: KM3NeT's two L2 event datasets.
// The first is one no other UI test makes available (nor expects anywhere).
const FILTER = 'telescope=km3net,data_level=L2';
const FOUND = [
  'km3net:ARCA21_run12345_events',
  'km3net:ARCA21_run13456_events'
];
const TO_MAKE_AVAILABLE = FOUND[0];

/** The running lake and its demo user's access token, which must never reach the page. */
function readLakeAndToken(): { lake: ILake; token: string } | null {
  const lake = readLake();
  if (!lake) {
    return null;
  }
  // lake.json's users carry their token file (see escape_dlaas/lake/info.py DemoUser)
  const user = lake.users.find(
    one => one.name === lake.demoUser
  ) as ILakeUser & {
    token_file: string;
  };
  return { lake, token: fs.readFileSync(user.token_file, 'utf-8').trim() };
}

const running = readLakeAndToken();

/** A port nobody listens on, on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Start `voila NOTEBOOK` (from PATH: scripts/ui-tests.sh puts the venv first); resolves with its URL. */
async function startVoila(
  lakeDir: string
): Promise<{ voila: ChildProcess; url: string }> {
  const port = await freePort();
  const voila = spawn(
    'voila',
    [
      NOTEBOOK,
      `--port=${port}`,
      '--Voila.ip=127.0.0.1',
      '--no-browser',
      '--show_tracebacks=True'
    ],
    {
      env: {
        ...process.env,
        JUPYTER_CONFIG_PATH: path.join(lakeDir, 'jupyter')
      },
      stdio: ['ignore', 'pipe', 'pipe']
    }
  );
  const url = `http://127.0.0.1:${port}/`;
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const timer = setTimeout(
      () => reject(new Error(`Voilà did not start in 30 s:\n${log}`)),
      30_000
    );
    const read = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes(url)) {
        clearTimeout(timer);
        resolve();
      }
    };
    voila.stdout!.on('data', read);
    voila.stderr!.on('data', read);
    voila.once('exit', code => {
      clearTimeout(timer);
      reject(new Error(`Voilà exited (${code}):\n${log}`));
    });
  });
  return { voila, url };
}

/** Open the dashboard; resolves with the form once it shows, after checking no error is on the page. */
async function openDashboard(page: Page, url: string): Promise<Locator> {
  await page.goto(url);
  const widget = page.locator('.jp-DLaaS-searchWidget');
  await expect(widget).toBeVisible({ timeout: 45_000 });
  const { name, display_name: label } = running!.lake.instance;
  await expect(widget.getByText(`Data lake: ${label ?? name}`)).toBeVisible();
  for (const field of ['Name', 'Metadata']) {
    await expect(
      widget.locator('.widget-text', { hasText: field }).locator('input')
    ).toBeEditable();
  }
  for (const choice of ['Type', 'Target']) {
    await expect(
      widget.locator('.widget-dropdown', { hasText: choice }).locator('select')
    ).toBeEnabled();
  }
  // No failed cell (Voilà's message or a traceback), no widget that failed to render.
  await expect(page.getByText(/There was an error when executing/)).toHaveCount(
    0
  );
  await expect(page.locator('[data-mime-type*="error"]')).toHaveCount(0);
  await expect(
    page.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
  ).toHaveCount(0);
  await expect(page.getByText(/Error displaying widget/)).toHaveCount(0);
  return widget;
}

/** Search by metadata; every expected DID is listed with its availability and a button. */
async function searchFor(widget: Locator): Promise<void> {
  await widget
    .locator('.widget-text', { hasText: 'Metadata' })
    .locator('input')
    .fill(FILTER);
  await widget.getByRole('button', { name: 'Search' }).click();
  await expect(widget.getByText(`${FOUND.length} DIDs shown`)).toBeVisible({
    timeout: 30_000
  });
  for (const did of FOUND) {
    await expect(widget.getByText(did, { exact: true })).toBeVisible();
    await expect(availabilityOf(widget, did)).toHaveAttribute(
      'data-state',
      /^[A-Z_]+$/
    );
  }
  await expect(
    widget.getByRole('button', { name: 'Make available' })
  ).toHaveCount(FOUND.length);
  // The table fits: no cell sticks out of it (a button did, and scrolled it sideways).
  const overflow = await widget.locator('.widget-gridbox').evaluate(table => {
    const box = table.getBoundingClientRect();
    const cells = [...table.children].map(c => c.getBoundingClientRect());
    return {
      scrolls: table.scrollWidth - table.clientWidth,
      outside: cells.filter(c => c.right > box.right + 0.5).length
    };
  });
  expect(overflow).toEqual({ scrolls: 0, outside: 0 });
}

/** The availability cell of a DID's row (the table's cells: DID, type, size, availability, button). */
function availabilityOf(widget: Locator, did: string): Locator {
  return widget
    .locator('.widget-gridbox > *')
    .filter({ has: widget.page().getByText(did, { exact: true }) })
    .locator('xpath=following-sibling::*[3]')
    .locator('.jp-DLaaS-state');
}

async function textLuminance(widget: Locator): Promise<number> {
  const colour = await widget
    .getByText(FOUND[0], { exact: true })
    .evaluate(element => getComputedStyle(element).color);
  return luminance(colour);
}

/** Neither the lake's token nor any JWT is in the page's HTML. */
async function expectNoToken(page: Page): Promise<void> {
  const html = await page.content();
  expect(html.includes(running!.token)).toBe(false);
  expect(html).not.toContain('eyJ');
}

let voila: ChildProcess | null = null;
let dashboard = '';

test.beforeAll(async () => {
  if (running) {
    ({ voila, url: dashboard } = await startVoila(running.lake.dir));
  }
});

test.afterAll(async ({ request }) => {
  if (voila && voila.exitCode === null) {
    // SIGTERM: Voilà shuts its kernels down, then exits.
    const exited = new Promise(resolve => voila!.once('exit', resolve));
    voila.kill('SIGTERM');
    await exited;
  }
  if (running) {
    // Leave the lake as found: cancel the rule asked for (through the UI tests' JupyterLab).
    await cancelRules(request, running.lake.instance.name, TO_MAKE_AVAILABLE);
  }
});

test('the search widget as a Voilà dashboard: searches by metadata, makes data available, light and dark', async ({
  page
}, testInfo) => {
  test.skip(!running, NEEDS_LAKE);
  test.setTimeout(120_000);
  const uncaught: string[] = [];
  page.on('pageerror', error => uncaught.push(error.message));

  const widget = await openDashboard(page, dashboard);
  expect(await page.evaluate(() => document.body.dataset.jpThemeLight)).toBe(
    'true'
  );
  await searchFor(widget);
  expect(await textLuminance(widget)).toBeLessThan(0.2);

  // To the notebook's storage, followed by the progress under the table until available.
  await widget
    .locator('.widget-dropdown', { hasText: 'Target' })
    .locator('select')
    .selectOption('notebook');
  await widget.getByTitle(`Make ${TO_MAKE_AVAILABLE} available`).click();
  const progress = widget.locator('.jp-DLaaS-progress');
  await expect(
    progress.getByText(`${TO_MAKE_AVAILABLE} → notebook`)
  ).toBeVisible();
  await expect(progress.locator('.widget-hprogress')).toBeVisible();
  await expect(
    progress.getByText(
      /AVAILABLE, (\d+) of \1 files, .* — Available: \/\S+\.h5/
    )
  ).toBeVisible({ timeout: 60_000 });
  await expect(availabilityOf(widget, TO_MAKE_AVAILABLE)).toHaveAttribute(
    'data-state',
    'AVAILABLE'
  );
  await expectNoToken(page);
  await testInfo.attach('voila-light', {
    body: await widget.screenshot(),
    contentType: 'image/png'
  });

  // Voilà's dark theme, asked for in the URL: the form takes its colours.
  const dark = await openDashboard(page, `${dashboard}?theme=dark`);
  expect(await page.evaluate(() => document.body.dataset.jpThemeLight)).toBe(
    'false'
  );
  await searchFor(dark);
  expect(await textLuminance(dark)).toBeGreaterThan(0.4);
  await expect(availabilityOf(dark, TO_MAKE_AVAILABLE)).toHaveAttribute(
    'data-state',
    'AVAILABLE'
  );
  await expectNoToken(page);
  await testInfo.attach('voila-dark', {
    body: await dark.screenshot(),
    contentType: 'image/png'
  });
  expect(uncaught).toEqual([]);
});
