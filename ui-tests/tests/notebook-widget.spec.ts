/**
 * The notebook's ipywidgets search form (escape_dlaas.DataLake().search_widget()),
 * in a real kernel against the real local lake (scripts/ui-tests.sh): it renders,
 * a metadata search shows the lake's matching datasets with their availability,
 * and "Make available" follows the rule to "Available"; then, in the dark theme,
 * the same form takes the theme's colours and searches again. The DIDs come from
 * the lake's own description ($ESCAPE_DLAAS_LAKE_DIR/lake.json, `scenarios`).
 */
import { expect, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import { KERNEL_LAKE_CONFIG, luminance, NEEDS_LAKE, readLake } from './lake';

/** The lake's metadata search, or null without a lake (then the test is skipped). */
const search = readLake()?.scenarios.metadata_search ?? null;

// The kernel finds the lake's configuration the way a kernel of the lake's own
// Jupyter server does; here the server was configured otherwise, so the folder is given.
const CELL = [
  'import os',
  'from escape_dlaas import DataLake',
  `lake = DataLake(config=${KERNEL_LAKE_CONFIG})`,
  'lake.search_widget()'
].join('\n');

/** Search with the metadata filter; every expected DID is listed with a button. */
async function searchFor(
  widget: Locator,
  filter: string,
  expected: string[]
): Promise<void> {
  await widget
    .locator('.widget-text', { hasText: 'Metadata' })
    .locator('input')
    .fill(filter);
  await widget.getByRole('button', { name: 'Search' }).click();
  for (const did of expected) {
    await expect(widget.getByText(did, { exact: true })).toBeVisible({
      timeout: 30_000
    });
  }
  await expect(widget.getByText(`${expected.length} DIDs shown`)).toBeVisible();
  await expect(
    widget.getByRole('button', { name: 'Make available' })
  ).toHaveCount(expected.length);
}

async function textLuminance(widget: Locator, did: string): Promise<number> {
  const colour = await widget
    .getByText(did, { exact: true })
    .evaluate(element => getComputedStyle(element).color);
  return luminance(colour);
}

test.use({ autoGoto: true });

test('the search widget finds data by metadata and makes it available, in the light and dark themes', async ({
  page
}, testInfo) => {
  test.skip(!search, NEEDS_LAKE);
  test.setTimeout(180_000);
  const { filter_string: filter, expected } = search!;
  expect(await page.theme.getTheme()).toBe('JupyterLab Light');
  await page.notebook.createNew('search-widget.ipynb');
  await page.notebook.setCell(0, 'code', CELL);
  await page.notebook.runCell(0);

  const widget = page.locator('.jp-DLaaS-searchWidget');
  await expect(widget).toBeVisible({ timeout: 60_000 });
  await expect(widget.getByText('Data lake:')).toBeVisible();
  await searchFor(widget, filter, expected);
  expect(await textLuminance(widget, expected[0])).toBeLessThan(0.2);

  // To the SAFE class, which already holds the data: no UI test's
  // availability at the notebook changes.
  await widget
    .locator('.widget-dropdown', { hasText: 'Target' })
    .locator('select')
    .selectOption('SAFE');
  await widget.getByRole('button', { name: 'Make available' }).first().click();
  const progress = widget.locator('.jp-DLaaS-progress');
  await expect(progress.getByText(`${expected[0]} → SAFE`)).toBeVisible();
  await expect(progress.getByText(/— Available/)).toBeVisible({
    timeout: 60_000
  });
  await expect(widget.getByText('SAFE: AVAILABLE')).toBeVisible();
  await testInfo.attach('search-widget-light', {
    body: await widget.screenshot(),
    contentType: 'image/png'
  });

  await page.theme.setDarkTheme();
  expect(await textLuminance(widget, expected[0])).toBeGreaterThan(0.4);
  await searchFor(widget, filter, expected);
  await testInfo.attach('search-widget-dark', {
    body: await widget.screenshot(),
    contentType: 'image/png'
  });
});
