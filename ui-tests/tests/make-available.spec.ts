/**
 * The make-available dialog knows before the click what Rucio would do, in a
 * real JupyterLab against the real local lake (scripts/ui-tests.sh): an
 * embargo, a quota too small (used, limit and needed), and, for data Rucio
 * would take, how much moves; "Make available" is off exactly when Rucio
 * would surely refuse. The DIDs come from the lake's own description
 * ($ESCAPE_DLAAS_LAKE_DIR/lake.json, `scenarios`).
 */
import {
  expect,
  galata,
  IJupyterLabPageFixture,
  test
} from '@jupyterlab/galata';
import { APIRequestContext, Locator, Page, Response } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';

/** Sidebar tab id of the panel (PANEL_ID in src/tokens.ts). */
const PANEL_ID = 'escape-dlaas-panel' as galata.SidebarTabId;
const API = '/escape-dlaas/instances';

interface ILake {
  instance: string;
  embargo: { did: string; embargo_until: string; reason: string };
  quota: {
    did: string;
    rse_expression: string;
    bytes: number;
    limit_bytes: number;
  };
  /** A dataset no other UI test makes available or expects anywhere. */
  plain: string;
}

/** The running lake, or null without one (then the tests are skipped). */
function readLake(): ILake | null {
  const lakeDir = process.env.ESCAPE_DLAAS_LAKE_DIR;
  if (!lakeDir) {
    return null;
  }
  const read = (...parts: string[]) =>
    JSON.parse(fs.readFileSync(path.join(lakeDir, ...parts), 'utf-8'));
  const config = read('jupyter', 'jupyter_server_config.json');
  const { scenarios } = read('lake.json');
  return {
    instance: config.DLaaS.instances[0].name,
    embargo: scenarios.embargo,
    quota: scenarios.quota,
    plain: scenarios.calibration_lookup.expected[0]
  };
}

const lake = readLake();
const NEEDS_LAKE =
  'needs a running lake: set ESCAPE_DLAAS_LAKE_DIR (see ui-tests/README.md)';

test.use({ autoGoto: true });

/** A size as the panel writes it (src/format.ts): three significant digits, SI units. */
function formatBytes(bytes: number): string {
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

async function openPanel(page: IJupyterLabPageFixture): Promise<Locator> {
  await page.sidebar.openTab(PANEL_ID);
  const panel = page.getByRole('region', { name: 'Data Lake' });
  await expect(panel).toBeVisible();
  await expect(panel.getByRole('status', { name: 'Sign-in' })).toBeVisible({
    timeout: 30_000
  });
  return panel;
}

/** The search result of one DID, found by its name. */
async function resultRow(panel: Locator, did: string): Promise<Locator> {
  await panel.getByRole('tab', { name: 'Search' }).click();
  await panel.getByRole('searchbox', { name: 'Name pattern' }).fill(did);
  await panel.getByRole('combobox', { name: 'Type' }).selectOption('all');
  const filter = panel.getByRole('textbox', { name: 'Metadata filter' });
  await filter.fill('');
  await filter.press('Enter');
  const row = panel
    .getByRole('list', { name: 'Results' })
    .getByRole('listitem', { name: did, exact: true });
  await expect(row).toBeVisible({ timeout: 30_000 });
  return row;
}

/** The server's preview for a DID and target, as the dialog asks for it. */
function previewAnswer(page: Page, did: string, target: string) {
  return page.waitForResponse(response => {
    const url = new URL(response.url());
    return (
      url.pathname.endsWith('/rules/preview') &&
      url.searchParams.get('did') === did &&
      url.searchParams.get('target') === target
    );
  });
}

/** Open the make-available dialog on a DID's search result. */
async function openDialog(
  page: Page,
  panel: Locator,
  did: string
): Promise<{ dialog: Locator; accept: Locator; preview: Promise<Response> }> {
  const row = await resultRow(panel, did);
  const preview = previewAnswer(page, did, 'notebook');
  await row.getByRole('button', { name: `Make ${did} available` }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.getByText(did, { exact: true })).toBeVisible();
  return {
    dialog,
    accept: dialog.locator('.jp-Dialog-button.jp-mod-accept'),
    preview
  };
}

/** Record the requests that would create a rule. */
function ruleRequests(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', request => {
    if (
      request.method() === 'POST' &&
      new URL(request.url()).pathname.endsWith('/rules')
    ) {
      seen.push(request.postData() ?? '');
    }
  });
  return seen;
}

/** Cancel the user's rules on a DID (left by an earlier run on a kept lake). */
async function cancelRules(
  request: APIRequestContext,
  did: string
): Promise<void> {
  const instance = `${API}/${lake!.instance}`;
  const answer = await request.get(`${instance}/rules`);
  expect(answer.ok()).toBe(true);
  const { rules } = (await answer.json()) as {
    rules: { id: string; did: string }[];
  };
  for (const rule of rules.filter(one => one.did === did)) {
    const cancelled = await request.delete(`${instance}/rules/${rule.id}`);
    expect(cancelled.ok()).toBe(true);
  }
}

test.describe('Make available: known before the click', () => {
  test.beforeEach(() => {
    test.skip(lake === null, NEEDS_LAKE);
  });

  test('shows the embargo, and "Make available" stays off', async ({
    page
  }) => {
    const { did, reason } = lake!.embargo;
    const panel = await openPanel(page);
    const posts = ruleRequests(page);
    const { dialog, accept, preview } = await openDialog(page, panel, did);

    const answer = await (await preview).json();
    expect(answer.outcome).toBe('refused');
    const embargoed = dialog.getByRole('alert', { name: 'Embargoed' });
    await expect(embargoed).toBeVisible();
    await expect(embargoed).toContainText(/^Embargoed until /);
    // The server's words name the date, and where the embargo is set.
    await expect(embargoed).toContainText(reason);
    await expect(accept).toBeDisabled();
    await expect(accept).toHaveText('Cannot make available');

    // Enter does not ask either; Cancel closes.
    await dialog.press('Enter');
    await expect(dialog).toBeVisible();
    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await expect(dialog).toHaveCount(0);
    expect(posts).toEqual([]);
  });

  test('shows the quota used, its limit and what is needed; another target is fine', async ({
    page
  }) => {
    const quota = lake!.quota;
    // The QoS class whose storage holds the quota (ESCAPE-CHEAP → CHEAP).
    const target = quota.rse_expression.replace(/^ESCAPE-/, '');
    const panel = await openPanel(page);
    const posts = ruleRequests(page);
    const { dialog, accept } = await openDialog(page, panel, quota.did);

    const cheap = previewAnswer(page, quota.did, target);
    await dialog.getByRole('combobox', { name: 'Target' }).selectOption(target);
    expect((await (await cheap).json()).outcome).toBe('refused');
    const exceeded = dialog.getByRole('alert', { name: 'Quota exceeded' });
    await expect(exceeded).toBeVisible();
    await expect(exceeded).toContainText(
      `Quota exceeded: this needs ${formatBytes(quota.bytes)}`
    );
    const row = exceeded
      .getByRole('table', { name: 'Your quota' })
      .getByRole('row', { name: new RegExp(quota.rse_expression) });
    const [used, limit, needed] = await row.getByRole('cell').allTextContents();
    expect(used).toMatch(/^\d+(\.\d)? [kMGT]?B$/);
    expect(limit).toBe(formatBytes(quota.limit_bytes));
    expect(needed).toBe(formatBytes(quota.bytes));
    await expect(accept).toBeDisabled();
    await expect(accept).toHaveText('Cannot make available');

    // The notebook's storage has room: asked again, nothing is refused.
    const notebook = previewAnswer(page, quota.did, 'notebook');
    await dialog
      .getByRole('combobox', { name: 'Target' })
      .selectOption('notebook');
    expect((await (await notebook).json()).refusals).toEqual([]);
    await expect(exceeded).toHaveCount(0);
    await expect(accept).toBeEnabled();
    await expect(accept).toHaveText('Make available');

    await dialog.getByRole('button', { name: 'Cancel', exact: true }).click();
    await expect(dialog).toHaveCount(0);
    expect(posts).toEqual([]);
  });

  test('shows how much a plain dataset moves, and "Make available" works', async ({
    page,
    request
  }) => {
    const did = lake!.plain;
    await cancelRules(request, did);
    const panel = await openPanel(page);
    const { dialog, accept, preview } = await openDialog(page, panel, did);

    const answer = await (await preview).json();
    expect(answer.refusals).toEqual([]);
    expect(answer.size.files).toBeGreaterThan(0);
    const files = answer.to_move.files;
    await expect(dialog.getByRole('status')).toHaveText(
      files === 0
        ? 'All its files are at the notebook already: no data moves.'
        : `${formatBytes(answer.to_move.bytes)} (${files} ${files === 1 ? 'file' : 'files'}) will be copied to Notebook-local storage.`
    );
    await expect(dialog.getByRole('alert')).toHaveCount(0);
    await expect(accept).toBeEnabled();

    const created = page.waitForResponse(
      response =>
        response.request().method() === 'POST' &&
        new URL(response.url()).pathname.endsWith('/rules')
    );
    await accept.click();
    await expect(dialog).toHaveCount(0);
    expect([200, 201]).toContain((await created).status());
    await expect(
      page.locator('.Toastify__toast').filter({ hasText: did }).first()
    ).toBeVisible({ timeout: 30_000 });

    // The demo lake lets users cancel their rules: the details offer it; leave the lake as it was.
    await page.evaluate(
      did =>
        window.jupyterapp.commands.execute('escape-dlaas:show-details', {
          did
        }),
      did
    );
    const cancel = panel.getByRole('button', {
      name: /^Cancel the rule at NOTEBOOK/
    });
    await expect(cancel).toBeVisible({ timeout: 30_000 });
    await cancel.click();
    await page
      .locator('.jp-Dialog')
      .getByRole('button', { name: 'Cancel rule', exact: true })
      .click();
    await expect(
      page.locator('.Toastify__toast').filter({ hasText: 'is cancelled' })
    ).toBeVisible({ timeout: 30_000 });
  });
});
