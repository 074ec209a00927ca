/**
 * The make-available dialog knows before the click what Rucio would do, in a
 * real JupyterLab against the real local lake (scripts/ui-tests.sh): an
 * embargo, a quota too small (used, limit and needed), and, for data Rucio
 * would take, how much moves; "Make available" is off exactly when Rucio
 * would surely refuse. The DIDs come from the lake's own description
 * ($ESCAPE_DLAAS_LAKE_DIR/lake.json, `scenarios`).
 */
import { expect, test } from '@jupyterlab/galata';
import { Locator, Page, Response } from '@playwright/test';
import {
  cancelRules,
  dialogOf,
  formatBytes,
  NEEDS_LAKE,
  openMakeAvailable,
  openSignedInPanel,
  readLake,
  resultRow,
  showDetails,
  toast
} from './lake';

const running = readLake();
/** What these tests use of the running lake, or null without one (then they are skipped). */
const lake = running && {
  instance: running.instance.name,
  embargo: running.scenarios.embargo,
  quota: running.scenarios.quota,
  /** A dataset no other UI test makes available or expects anywhere. */
  plain: running.scenarios.calibration_lookup.expected[0]
};

test.use({ autoGoto: true });

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
  const dialog = await openMakeAvailable(page, row, did);
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

test.describe('Make available: known before the click', () => {
  test.beforeEach(() => {
    test.skip(lake === null, NEEDS_LAKE);
  });

  test('shows the embargo, and "Make available" stays off', async ({
    page
  }) => {
    const { did, reason } = lake!.embargo;
    const panel = await openSignedInPanel(page);
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
    const panel = await openSignedInPanel(page);
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
    await cancelRules(request, lake!.instance, did);
    const panel = await openSignedInPanel(page);
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
    await expect(toast(page, did).first()).toBeVisible({ timeout: 30_000 });

    // The demo lake lets users cancel their rules: the details offer it; leave the lake as it was.
    await showDetails(page, did);
    const cancel = panel.getByRole('button', {
      name: /^Cancel the rule at NOTEBOOK/
    });
    await expect(cancel).toBeVisible({ timeout: 30_000 });
    await cancel.click();
    await dialogOf(page)
      .getByRole('button', { name: 'Cancel rule', exact: true })
      .click();
    await expect(toast(page, 'is cancelled')).toBeVisible({ timeout: 30_000 });
  });
});
