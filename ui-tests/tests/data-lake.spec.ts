import { expect, galata, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

/** Sidebar tab id of the panel (PANEL_ID in src/tokens.ts). */
const PANEL_ID = 'escape-dlaas-panel';

/** Version the frontend was built with. */
const FRONTEND_VERSION: string = JSON.parse(
  fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf-8')
).version;

interface ILakeInstance {
  name: string;
  display_name?: string;
  rucio_url: string;
}

/** The instances the running lake configured, or null without a lake. */
function lakeInstances(): ILakeInstance[] | null {
  const lakeDir = process.env.ESCAPE_DLAAS_LAKE_DIR;
  if (!lakeDir) {
    return null;
  }
  const config = JSON.parse(
    fs.readFileSync(
      path.join(lakeDir, 'jupyter', 'jupyter_server_config.json'),
      'utf-8'
    )
  );
  return config.DLaaS.instances;
}

test.use({ autoGoto: true });

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

    const panel = page.getByRole('region', { name: 'Data Lake' });
    await expect(panel).toBeVisible();
    await expect(
      panel.getByRole('heading', { name: 'Data Lake', exact: true })
    ).toBeVisible();
    await expect(
      panel.getByText(`escape-dlaas version ${FRONTEND_VERSION}`)
    ).toBeVisible();
    await expect(
      panel.getByRole('button', { name: 'Refresh Data Lake status' })
    ).toBeEnabled();
    expect(await page.sidebar.isTabOpen(PANEL_ID as galata.SidebarTabId)).toBe(
      true
    );
  });

  test('is in the View menu', async ({ page }) => {
    await page.menu.clickMenuItem('View>Open Data Lake Panel');

    await expect(page.getByRole('region', { name: 'Data Lake' })).toBeVisible();
  });

  test('shows the live Rucio status of the local lake', async ({ page }) => {
    const instances = lakeInstances();
    test.skip(
      instances === null,
      'needs a running lake: set ESCAPE_DLAAS_LAKE_DIR (see ui-tests/README.md)'
    );
    const lake = instances![0];

    await page.sidebar.openTab(PANEL_ID as galata.SidebarTabId);
    const panel = page.getByRole('region', { name: 'Data Lake' });
    const instance = panel.getByRole('listitem', {
      name: lake.display_name ?? lake.name
    });

    // Showing the panel checks the status at once.
    await expect(instance).toBeVisible();
    await expect(
      instance.getByText(lake.rucio_url, { exact: true })
    ).toBeVisible();
    await expect(
      instance.getByText('Reachable', { exact: true })
    ).toBeVisible();
    await expect(instance.locator('.jp-DLaaS-rucioVersion')).toHaveText(
      /^\d+\.\d+/
    );
    await expect(instance.locator('.jp-DLaaS-latency')).toHaveText(/^\d+ ms$/);
    await expect(panel.getByRole('alert')).toHaveCount(0);

    // A refresh asks the server again and still finds Rucio.
    const refreshed = page.waitForResponse(
      response =>
        response.url().includes('/escape-dlaas/status') &&
        response.status() === 200
    );
    await panel
      .getByRole('button', { name: 'Refresh Data Lake status' })
      .click();
    await refreshed;
    await expect(
      instance.getByText('Reachable', { exact: true })
    ).toBeVisible();

    // Latency and check time change at every run: mask them; no hover state.
    await page.mouse.move(0, 0);
    const content = panel.locator('.jp-DLaaS-status');
    const mask = [
      panel.locator('.jp-DLaaS-latency'),
      panel.locator('.jp-DLaaS-lastChecked time')
    ];
    // Soft: a light-theme difference must not hide the dark-theme one.
    expect
      .soft(await content.screenshot({ mask }))
      .toMatchSnapshot('data-lake-panel.png');

    // The dark theme restyles it through the --jp-* variables alone.
    await page.theme.setDarkTheme();
    await expect(
      instance.getByText('Reachable', { exact: true })
    ).toBeVisible();
    expect(await content.screenshot({ mask })).toMatchSnapshot(
      'data-lake-panel-dark.png'
    );
  });
});
