/**
 * The Data Lake panel in a real JupyterLab, in Debian's Chromium, against the
 * real local lake that scripts/ui-tests.sh starts. Every DID and target comes
 * from the lake's own description ($ESCAPE_DLAAS_LAKE_DIR/lake.json, under
 * `scenarios`): nothing is hard-coded here.
 */
import { expect, test } from '@jupyterlab/galata';
import { Locator, Page } from '@playwright/test';
import * as fs from 'fs';
import * as path from 'path';
import {
  badge,
  errorToast,
  expectSignedIn,
  letTheClickReachRucio,
  makeAvailableAtNotebook,
  makeAvailableButton,
  NEEDS_LAKE,
  openMakeAvailable,
  openPanel,
  PANEL_ID,
  panelOf,
  readLake,
  resultsOf,
  search,
  submitSearch,
  toast
} from './lake';

/** Version the frontend was built with. */
const FRONTEND_VERSION: string = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf-8')
).version;

const lake = readLake();

test.use({ autoGoto: true });

/** Ask for a DID through the make-available dialog (optionally to another target). */
async function makeAvailable(
  page: Page,
  panel: Locator,
  did: string,
  target?: string
): Promise<void> {
  const results = await search(panel, { pattern: did });
  const row = results.getByRole('listitem', { name: did, exact: true });
  const dialog = await openMakeAvailable(page, row, did);
  await expect(dialog.getByText(did, { exact: true })).toBeVisible();
  if (target) {
    await dialog.getByRole('combobox', { name: 'Target' }).selectOption(target);
  }
  await makeAvailableButton(dialog).click();
  await expect(dialog).toHaveCount(0);
}

test.describe('Data Lake panel', () => {
  test('opens from the command palette and shows the extension version', async ({
    page
  }) => {
    await page.keyboard.press('Control+Shift+C');
    const palette = page.locator('#modal-command-palette');
    await palette
      .locator('.lm-CommandPalette-input')
      .fill('Open Data Lake Panel');
    await palette
      .getByRole('menuitem', { name: /Open Data Lake Panel/ })
      .click();

    const panel = panelOf(page);
    await expect(panel).toBeVisible();
    await expect(
      panel.getByRole('heading', { name: 'Data Lake', exact: true })
    ).toBeVisible();
    await panel.getByRole('tab', { name: 'Instances' }).click();
    await expect(
      panel.getByText(`escape-dlaas version ${FRONTEND_VERSION}`)
    ).toBeVisible();
    expect(await page.sidebar.isTabOpen(PANEL_ID)).toBe(true);
  });

  test('is in the View menu, and its commands in the palette', async ({
    page
  }) => {
    await page.menu.clickMenuItem('View>Open Data Lake Panel');
    await expect(panelOf(page)).toBeVisible();

    await page.keyboard.press('Control+Shift+C');
    const palette = page.locator('#modal-command-palette');
    await palette.locator('.lm-CommandPalette-input').fill('Data Lake');
    for (const name of [
      'Search the Data Lake',
      'Make Data Available…',
      'Refresh Data Lake',
      'Data Lake Settings'
    ]) {
      await expect(palette.getByRole('menuitem', { name })).toBeVisible();
    }
    await page.keyboard.press('Escape');
  });

  test('shows who is signed in, on which instance, and for how long', async ({
    page
  }) => {
    test.skip(lake === null, NEEDS_LAKE);
    const panel = await openPanel(page);
    const signIn = panel.getByRole('status', { name: 'Sign-in' });
    await expect(signIn).toContainText(`Signed in as ${lake!.demoUser}`, {
      timeout: 30_000
    });
    await expect(signIn.locator('.jp-DLaaS-tokenValidity')).toHaveText(
      /^token valid for \d+ (min|h)/
    );
    await expect(
      panel.getByText(lake!.instance.display_name ?? lake!.instance.name)
    ).toBeVisible();
    await expect(panel.getByRole('alert')).toHaveCount(0);

    // The instance is reachable, its Rucio version shown.
    await panel.getByRole('tab', { name: 'Instances' }).click();
    const instance = panel.getByRole('listitem', {
      name: lake!.instance.display_name ?? lake!.instance.name
    });
    await expect(
      instance.getByText(lake!.instance.rucio_url, { exact: true })
    ).toBeVisible();
    await expect(
      instance.getByText('Reachable', { exact: true })
    ).toBeVisible();
    await expect(instance.locator('.jp-DLaaS-rucioVersion')).toHaveText(
      /^\d+\.\d+/
    );
  });

  test('finds datasets by metadata, with sizes and availability badges', async ({
    page
  }) => {
    test.skip(lake === null, NEEDS_LAKE);
    const scenario = lake!.scenarios.metadata_search;
    const panel = await openPanel(page);
    const results = await search(panel, {
      type: scenario.did_type,
      filter: scenario.filter_string
    });

    const rows = results.getByRole('listitem');
    await expect(rows).toHaveCount(scenario.expected.length);
    const found = await rows.evaluateAll(items =>
      items.map(item => item.getAttribute('aria-label'))
    );
    expect([...found].sort()).toEqual([...scenario.expected].sort());
    for (const did of scenario.expected) {
      const row = results.getByRole('listitem', { name: did, exact: true });
      await expect(row.locator('.jp-DLaaS-resultMeta')).toHaveText(
        / · \d+(\.\d)? kB · \d+ files?$/
      );
      await expect(badge(row)).toHaveAttribute('data-state', /^[A-Z_]+$/);
    }

    // The filter builder shows the same filter as rows.
    await panel.getByRole('button', { name: 'Filter builder' }).click();
    const builder = panel.getByRole('group', { name: 'Filter builder' });
    const conditions = scenario.filter_string.split(',');
    await expect(builder.locator('.jp-DLaaS-filterRow')).toHaveCount(
      conditions.length
    );
    await expect(
      builder.getByRole('combobox', { name: 'Key, group 1, condition 1' })
    ).toHaveValue(conditions[0].split(/[=<>!]/)[0]);
  });

  test('says why a search found nothing, and searches for the fix in one click', async ({
    page
  }) => {
    test.skip(lake === null, NEEDS_LAKE);
    const scenario = lake!.scenarios.metadata_search;
    // The scenario's filter with its first value in capitals (telescope=LOFAR,...):
    // the catalogue writes it in lower case.
    const [first, ...rest] = scenario.filter_string.split(',');
    const [key, value] = first.split('=');
    const shouted = [`${key}=${value.toUpperCase()}`, ...rest].join(',');
    expect(shouted).not.toBe(scenario.filter_string);

    const panel = await openPanel(page);
    await submitSearch(panel, { type: scenario.did_type, filter: shouted });
    const filter = panel.getByRole('textbox', { name: 'Metadata filter' });

    await expect(panel.getByText('No data matches this search.')).toBeVisible({
      timeout: 30_000
    });
    const hints = panel.getByRole('alert', { name: 'Why nothing matched' });
    await expect(hints).toContainText('letter case matters');
    const fix = hints.getByRole('button', {
      name: `Search for ${scenario.filter_string}`
    });
    await expect(fix).toBeVisible();

    await fix.click();
    await expect(filter).toHaveValue(scenario.filter_string);
    await expect(resultsOf(panel).getByRole('listitem')).toHaveCount(
      scenario.expected.length,
      { timeout: 30_000 }
    );
    await expect(hints).toHaveCount(0);
  });

  test('makes a dataset available at the notebook and opens its folder', async ({
    page
  }) => {
    test.skip(lake === null, NEEDS_LAKE);
    const quick = lake!.scenarios.quick_rule;
    const panel = await openPanel(page);
    await expectSignedIn(panel);

    const results = await search(panel, { pattern: quick.did });
    const row = results.getByRole('listitem', { name: quick.did, exact: true });
    const before = await badge(row).getAttribute('data-state');
    // Record every state the badge goes through.
    await page.evaluate(did => {
      const states: string[] = [];
      (window as unknown as { dlaasStates: string[] }).dlaasStates = states;
      const node = document.querySelector(
        `[data-did="${did}"] .jp-DLaaS-availability`
      )!;
      states.push(node.getAttribute('data-state')!);
      new MutationObserver(() =>
        states.push(node.getAttribute('data-state')!)
      ).observe(node, {
        attributes: true,
        attributeFilter: ['data-state']
      });
    }, quick.did);

    const dialog = await openMakeAvailable(page, row, quick.did);
    await expect(dialog.getByRole('combobox', { name: 'Target' })).toHaveValue(
      'notebook'
    );
    if (before !== 'AVAILABLE') {
      // How much data will move, from the result.
      await expect(dialog.getByRole('status')).toHaveText(
        /^4\.1 kB \(1 file\) will be copied to Notebook-local storage\.$/
      );
    }
    await makeAvailableButton(dialog).click();

    // The notification turns into success; the badge ends AVAILABLE.
    const success = toast(page, `${quick.did} is available at the notebook`);
    await expect(success).toBeVisible({ timeout: 90_000 });
    await expect(badge(row)).toHaveAttribute('data-state', 'AVAILABLE', {
      timeout: 30_000
    });
    const seen = await page.evaluate(
      () => (window as unknown as { dlaasStates: string[] }).dlaasStates
    );
    test.info().annotations.push({
      type: 'badge states',
      description: seen.join(' → ')
    });
    expect(seen[seen.length - 1]).toBe('AVAILABLE');
    if (before !== 'AVAILABLE') {
      expect(seen[0]).toBe('NOT_AVAILABLE');
      // Any state in between is on the way: replicating (maybe too fast to see).
      expect(seen.slice(1, -1).every(state => state === 'REPLICATING')).toBe(
        true
      );
    }

    // "Open in file browser" shows the dataset's own folder, data-lake/<scope>/<dataset>
    // (not Rucio's hashed storage layout), with the dataset's files in it.
    const [scope, name] = quick.did.split(':');
    await success.getByRole('button', { name: 'Open in file browser' }).click();
    await expect
      .poll(() => page.filebrowser.getCurrentDirectory(), { timeout: 30_000 })
      .toBe(`data-lake/${scope}/${name}`);
    for (const file of quick.files) {
      await expect
        .poll(() => page.filebrowser.isFileListedInBrowser(file.name), {
          timeout: 10_000
        })
        .toBe(true);
    }

    // The dataset is watched, in "My data".
    await page.sidebar.openTab(PANEL_ID);
    await panel.getByRole('tab', { name: /^My data/ }).click();
    const watched = panel.getByRole('list', { name: 'Watched data' });
    await expect(
      badge(watched.getByRole('listitem', { name: quick.did }))
    ).toHaveAttribute('data-state', 'AVAILABLE');
  });

  test('explains an embargo with the reason from Rucio', async ({ page }) => {
    test.skip(lake === null, NEEDS_LAKE);
    const embargo = lake!.scenarios.embargo;
    await letTheClickReachRucio(page);
    const panel = await openPanel(page);
    await makeAvailable(page, panel, embargo.did);

    // The server's message, whole: no cut before the reason.
    const error = errorToast(page, embargo.did);
    await expect(error).toBeVisible({ timeout: 60_000 });
    await expect(error).toContainText('cannot be made available');
    await expect(error).toContainText(embargo.reason);

    // The details view keeps the explanation.
    await error.getByRole('button', { name: 'Show details' }).click();
    const failure = panel.getByRole('alert', { name: 'Make available failed' });
    await expect(failure).toContainText(embargo.reason);
  });

  test('explains a quota refusal with its reason', async ({ page }) => {
    test.skip(lake === null, NEEDS_LAKE);
    const quota = lake!.scenarios.quota;
    await letTheClickReachRucio(page);
    const panel = await openPanel(page);
    // The QoS class whose storage is the quota scenario's RSE (e.g. ESCAPE-CHEAP → CHEAP).
    await makeAvailable(
      page,
      panel,
      quota.did,
      quota.rse_expression.replace(/^ESCAPE-/, '')
    );

    const error = errorToast(page, quota.did);
    await expect(error).toBeVisible({ timeout: 60_000 });
    await expect(error).toContainText(/quota exceeded/i);
  });

  test('looks the same in the light and the dark theme', async ({ page }) => {
    test.skip(lake === null, NEEDS_LAKE);
    const scenario = lake!.scenarios.metadata_search;
    const panel = await openPanel(page);
    await expectSignedIn(panel);
    await search(panel, {
      type: scenario.did_type,
      filter: scenario.filter_string
    });
    await expect(
      panel.getByText(`${scenario.expected.length} results`)
    ).toBeVisible();

    // The token validity changes at every run: mask it; no hover, no focus
    // ring, no transition half way.
    const mask = [panel.locator('.jp-DLaaS-tokenValidity')];
    // A fixed size too: the masked text ("59 min", "1 h") must not change the mask's width.
    const style =
      '.jp-DLaaS-tokenValidity { display: inline-block; width: 8em; height: 1.2em; overflow: hidden; vertical-align: bottom; }';
    const steady = async () => {
      await page.evaluate(() =>
        (document.activeElement as HTMLElement | null)?.blur()
      );
      await page.mouse.move(900, 600);
    };
    await steady();
    // Soft: a light-theme difference must not hide the dark-theme one.
    expect
      .soft(await panel.screenshot({ mask, style, animations: 'disabled' }))
      .toMatchSnapshot('data-lake-panel.png');

    await page.theme.setDarkTheme();
    await expect(
      panel.getByText(`${scenario.expected.length} results`)
    ).toBeVisible();
    await steady();
    expect(
      await panel.screenshot({ mask, style, animations: 'disabled' })
    ).toMatchSnapshot('data-lake-panel-dark.png');
  });

  test('takes the README screenshots', async ({ page }, testInfo) => {
    test.skip(lake === null, NEEDS_LAKE);
    const quick = lake!.scenarios.quick_rule;
    // Independent of the other tests: make the quick dataset available through the REST API.
    await makeAvailableAtNotebook(page.request, lake!.instance.name, quick.did);

    await page.sidebar.setWidth(420);
    const panel = await openPanel(page);
    await expectSignedIn(panel);
    const scope = quick.did.split(':')[0];
    const results = await search(panel, {
      pattern: `${scope}:*`,
      type: 'dataset'
    });
    await expect(
      badge(results.getByRole('listitem', { name: quick.did }))
    ).toHaveAttribute('data-state', 'AVAILABLE');
    await page.evaluate(() =>
      (document.activeElement as HTMLElement | null)?.blur()
    );
    await page.mouse.move(900, 600);
    // docs/screenshots is tracked: rewritten only when asked, else the shots
    // land in this test's output directory (ui-tests/test-results, git-ignored).
    const out =
      process.env.ESCAPE_DLAAS_UPDATE_DOCS_SCREENSHOTS === '1'
        ? path.resolve(__dirname, '..', '..', 'docs', 'screenshots')
        : testInfo.outputPath('screenshots');
    fs.mkdirSync(out, { recursive: true });
    const shoot = async (name: string) => {
      const file = path.join(out, name);
      fs.rmSync(file, { force: true });
      await panel.screenshot({ path: file });
      // a PNG of the panel, not an empty file
      const png = fs.readFileSync(file);
      expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
      expect(png.readUInt32BE(16)).toBeGreaterThanOrEqual(300); // width
    };
    await shoot('search-results.png');

    await results
      .getByRole('listitem', { name: quick.did })
      .getByRole('button', { name: /Show details/ })
      .click();
    await expect(panel.getByRole('table', { name: 'Metadata' })).toBeVisible();
    await expect(
      panel
        .getByRole('list', { name: /^Files/ })
        .getByRole('listitem')
        .first()
    ).toBeVisible();
    await page.mouse.move(900, 600);
    await shoot('details.png');
  });
});
