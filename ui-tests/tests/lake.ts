/**
 * What the UI specs share: the running lake as scripts/ui-tests.sh describes it
 * ($ESCAPE_DLAAS_LAKE_DIR: lake.json and the Jupyter config it writes), and the
 * steps every spec takes in the Data Lake panel (open it, search, open the
 * make-available dialog, make data available through the REST API, ...).
 *
 * Not a spec (no `.spec.ts`): Playwright runs no test from it.
 */
import { expect, galata, IJupyterLabPageFixture } from '@jupyterlab/galata';
import { APIRequestContext, Locator, Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

/** Sidebar tab id of the panel (PANEL_ID in src/tokens.ts), also the panel's DOM id. */
export const PANEL_ID = 'escape-dlaas-panel' as galata.SidebarTabId;
/** The server extension's REST API of the instances. */
export const API = '/escape-dlaas/instances';
/** Why a spec is skipped without a lake. */
export const NEEDS_LAKE =
  'needs a running lake: set ESCAPE_DLAAS_LAKE_DIR (see ui-tests/README.md)';
/**
 * Python: the folder of the lake's Jupyter config, for `DataLake(config=...)` in a
 * kernel. A kernel of the lake's own Jupyter server finds it by itself; the UI
 * tests' server is configured otherwise, so the folder is given.
 */
export const KERNEL_LAKE_CONFIG =
  'os.path.join(os.environ["ESCAPE_DLAAS_LAKE_DIR"], "jupyter")';

/** The lake's instance, as its Jupyter config names it (DLaaS.instances[0]). */
export interface ILakeInstance {
  name: string;
  display_name?: string;
  rucio_url: string;
  /** Set when the lake runs its broker (`lake up --events`). */
  events?: unknown;
}

/** A storage of the lake (lake.json `rses`). */
export interface ILakeRse {
  name: string;
  qos: string;
  attributes: Record<string, string>;
}

/** A demo user of the lake (lake.json `users`). */
export interface ILakeUser {
  name: string;
  account: string;
  password_file: string;
  token_file: string;
}

/** The situations the seeded lake holds (lake.json `scenarios`). */
export interface ILakeScenarios {
  quick_rule: { did: string; bytes: number; files: { name: string }[] };
  embargo: { did: string; reason: string; embargo_until: string };
  quota: {
    did: string;
    rse_expression: string;
    error: string;
    bytes: number;
    limit_bytes: number;
  };
  metadata_search: {
    did_type: string;
    filter_string: string;
    expected: string[];
  };
  calibration_lookup: { expected: string[] };
  containers: string[];
  doi_datasets: string[];
}

/** The running lake. */
export interface ILake {
  /** Its state directory ($ESCAPE_DLAAS_LAKE_DIR). */
  dir: string;
  instance: ILakeInstance;
  demoUser: string;
  users: ILakeUser[];
  rses: ILakeRse[];
  scenarios: ILakeScenarios;
  /** The Python of the lake's own venv (Rucio's clients). */
  venvPython: string;
  /** The Rucio client config of the lake's root account. */
  rucioConfig: string;
}

/**
 * The running lake, or null without one (then the specs skip their lake tests).
 * Read when a spec is loaded: every DID and target a spec uses comes from here.
 */
export function readLake(): ILake | null {
  const dir = process.env.ESCAPE_DLAAS_LAKE_DIR;
  if (!dir) {
    return null;
  }
  const read = (...parts: string[]) =>
    JSON.parse(fs.readFileSync(path.join(dir, ...parts), 'utf-8'));
  const config = read('jupyter', 'jupyter_server_config.json');
  const info = read('lake.json');
  return {
    dir,
    instance: config.DLaaS.instances[0],
    demoUser: info.demo_user,
    users: info.users,
    rses: info.rses,
    scenarios: info.scenarios,
    venvPython: path.join(info.lake_venv, 'bin', 'python'),
    rucioConfig: info.rucio.config_file
  };
}

/** Relative luminance (0 dark … 1 light) of a CSS rgb()/rgba() colour. */
export function luminance(colour: string): number {
  const [r, g, b] = (colour.match(/[\d.]+/g) ?? ['0', '0', '0'])
    .slice(0, 3)
    .map(v => Number(v) / 255)
    .map(c => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** A size as the panel writes it (src/format.ts): three significant digits, SI units. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  if (bytes < 1000) {
    return `${Math.round(bytes)} B`;
  }
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** The Data Lake panel (open or not). */
export function panelOf(page: Page): Locator {
  return page.getByRole('region', { name: 'Data Lake' });
}

/** Open the panel from its sidebar tab; resolves once it shows. */
export async function openPanel(
  page: IJupyterLabPageFixture
): Promise<Locator> {
  await page.sidebar.openTab(PANEL_ID);
  const panel = panelOf(page);
  await expect(panel).toBeVisible();
  return panel;
}

/** The panel's sign-in status: shown once the server has signed in to Rucio. */
export async function expectSignedIn(panel: Locator): Promise<void> {
  await expect(panel.getByRole('status', { name: 'Sign-in' })).toBeVisible({
    timeout: 30_000
  });
}

/** Open the panel and wait for the sign-in (the first request of a fresh lake signs in). */
export async function openSignedInPanel(
  page: IJupyterLabPageFixture
): Promise<Locator> {
  const panel = await openPanel(page);
  await expectSignedIn(panel);
  return panel;
}

/** What the search form asks; unset fields are emptied (type: all). */
export interface ISearchQuery {
  pattern?: string;
  type?: string;
  filter?: string;
}

/** Fill the Search tab's form and press Enter (no waiting for the answer). */
export async function submitSearch(
  panel: Locator,
  query: ISearchQuery
): Promise<void> {
  await panel.getByRole('tab', { name: 'Search' }).click();
  await panel
    .getByRole('searchbox', { name: 'Name pattern' })
    .fill(query.pattern ?? '');
  await panel
    .getByRole('combobox', { name: 'Type' })
    .selectOption(query.type ?? 'all');
  const filter = panel.getByRole('textbox', { name: 'Metadata filter' });
  await filter.fill(query.filter ?? '');
  await filter.press('Enter');
}

/** The list of search results. */
export function resultsOf(panel: Locator): Locator {
  return panel.getByRole('list', { name: 'Results' });
}

/**
 * Wait until the search is over and the rows in `scope` are described: the
 * names come first, the availability badges once the page is described.
 */
export async function expectDescribed(
  panel: Locator,
  scope: Locator
): Promise<void> {
  await expect(panel.getByText('Searching…')).toHaveCount(0, {
    timeout: 30_000
  });
  await expect(
    scope.locator('.jp-DLaaS-availability[data-state="PENDING"]')
  ).toHaveCount(0, { timeout: 30_000 });
}

/** Search; resolves when the results are shown and described. */
export async function search(
  panel: Locator,
  query: ISearchQuery
): Promise<Locator> {
  await submitSearch(panel, query);
  const results = resultsOf(panel);
  await expect(results).toBeVisible({ timeout: 30_000 });
  await expectDescribed(panel, results);
  return results;
}

/** Search and wait for whatever it ends in (results, nothing found, an error), the panel described. */
export async function searchToTheEnd(
  panel: Locator,
  query: ISearchQuery
): Promise<void> {
  await submitSearch(panel, query);
  await expectDescribed(panel, panel);
}

/** The search result of one DID, found by its name (not waiting for its badge). */
export async function resultRow(panel: Locator, did: string): Promise<Locator> {
  await submitSearch(panel, { pattern: did });
  const row = resultsOf(panel).getByRole('listitem', {
    name: did,
    exact: true
  });
  await expect(row).toBeVisible({ timeout: 30_000 });
  return row;
}

/** The availability badge of a row. */
export function badge(row: Locator): Locator {
  return row.locator('.jp-DLaaS-availability');
}

/** The open dialog (JupyterLab shows one at a time). */
export function dialogOf(page: Page): Locator {
  return page.locator('.jp-Dialog');
}

/** Click "Make … available" on a result row (or wherever it is in `row`): the dialog opens. */
export async function openMakeAvailable(
  page: Page,
  row: Locator,
  did: string
): Promise<Locator> {
  await row.getByRole('button', { name: `Make ${did} available` }).click();
  return dialogOf(page);
}

/** The dialog's "Make available" button (its accept button). */
export function makeAvailableButton(dialog: Locator): Locator {
  return dialog.getByRole('button', { name: 'Make available', exact: true });
}

/** Show a DID's details with the extension's own command (no search first). */
export async function showDetails(page: Page, did: string): Promise<void> {
  await page.evaluate(
    did =>
      window.jupyterapp.commands.execute('escape-dlaas:show-details', { did }),
    did
  );
}

/** A notification toast showing this text. */
export function toast(page: Page, text: string | RegExp): Locator {
  return page.locator('.Toastify__toast').filter({ hasText: text });
}

/** An error notification about a DID. */
export function errorToast(page: Page, did: string): Locator {
  return page.locator('.Toastify__toast--error').filter({ hasText: did });
}

/**
 * The make-available dialog checks beforehand (GET rules/preview) and turns
 * "Make available" off when Rucio would surely refuse. To test Rucio's own
 * refusal and how the panel explains it, the preview's answer (the server's
 * real one) is rewritten as if nothing were in the way: the click reaches Rucio.
 */
export async function letTheClickReachRucio(page: Page): Promise<void> {
  await page.route(
    '**/escape-dlaas/instances/*/rules/preview*',
    async route => {
      const response = await route.fetch();
      const preview = await response.json();
      await route.fulfill({
        response,
        json: {
          ...preview,
          outcome: 'create',
          refusals: [],
          embargo: null,
          quota: { ...preview.quota, fits: true }
        }
      });
    }
  );
}

/**
 * Make a DID available at the notebook through the REST API (idempotent) and
 * wait until it is: a test that needs it there does not depend on another test.
 */
export async function makeAvailableAtNotebook(
  request: APIRequestContext,
  instance: string,
  did: string
): Promise<void> {
  const base = `${API}/${instance}`;
  const created = await request.post(`${base}/rules`, {
    data: { did, target: 'notebook', lifetime_days: 7 }
  });
  expect([200, 201]).toContain(created.status());
  await expect
    .poll(
      async () => {
        const answer = await request.post(`${base}/availability`, {
          data: { dids: [did] }
        });
        return (await answer.json()).items[0].state;
      },
      { timeout: 90_000, intervals: [1000] }
    )
    .toBe('AVAILABLE');
}

/** Cancel the user's rules on a DID: a test leaves the lake as it found it. */
export async function cancelRules(
  request: APIRequestContext,
  instance: string,
  did: string
): Promise<void> {
  const base = `${API}/${instance}`;
  const answer = await request.get(`${base}/rules`);
  expect(answer.ok()).toBe(true);
  const { rules } = (await answer.json()) as {
    rules: { id: string; did: string }[];
  };
  for (const rule of rules.filter(one => one.did === did)) {
    const cancelled = await request.delete(`${base}/rules/${rule.id}`);
    expect(cancelled.ok()).toBe(true);
  }
}
