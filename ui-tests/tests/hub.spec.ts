/**
 * Through a real JupyterHub, as analysts reach JupyterLab: sign in at the
 * lake's issuer through the hub's login, land in the user's own JupyterLab
 * (spawned by the hub), open the Data Lake panel and search. The panel's token
 * comes from the hub (the `jupyterhub` token source), nothing else.
 *
 * scripts/ui-tests.sh starts the hub (python -m escape_dlaas.lake.hub) in front
 * of its lake and sets ESCAPE_DLAAS_UI_HUB_URL.
 */
import { expect, test } from '@playwright/test';
import * as fs from 'fs';
import { PANEL_ID, panelOf, readLake, resultsOf, submitSearch } from './lake';

const HUB = process.env.ESCAPE_DLAAS_UI_HUB_URL;
const lake = readLake();

// The lake's issuer has a self-signed certificate of its own.
test.use({ ignoreHTTPSErrors: true });

test('signs in through the hub, opens the Data Lake panel and searches', async ({
  page
}) => {
  test.skip(
    !HUB || !lake,
    'needs the hub and lake of scripts/ui-tests.sh (ESCAPE_DLAAS_UI_HUB_URL, ESCAPE_DLAAS_LAKE_DIR)'
  );
  test.setTimeout(180_000);
  const user = lake!.users.find(u => u.name === lake!.demoUser)!;
  const password = fs.readFileSync(user.password_file, 'utf-8').trim();
  const scenario = lake!.scenarios.metadata_search;

  // The hub may still be starting (scripts/ui-tests.sh starts it in the background).
  await expect
    .poll(
      async () => {
        try {
          return (await page.request.get(`${HUB}/hub/api/`)).status();
        } catch {
          return 0;
        }
      },
      { timeout: 90_000, intervals: [1000] }
    )
    .toBe(200);

  await page.goto(`${HUB}/hub/oauth_login`);
  await expect(page.getByText('development login')).toBeVisible();
  await page.getByLabel('User').fill(user.name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();

  // The hub spawns the user's server and sends the browser to its JupyterLab.
  await page.waitForURL(`**/user/${user.name}/lab**`, { timeout: 120_000 });
  await expect(page.locator('#jp-main-dock-panel')).toBeVisible({
    timeout: 60_000
  });

  await page
    .locator(`.jp-SideBar .lm-TabBar-tab[data-id="${PANEL_ID}"]`)
    .click();
  const panel = panelOf(page);
  await expect(panel).toBeVisible();
  // Signed in as the hub's user, with the token the hub keeps for her.
  await expect(panel.getByText(user.name).first()).toBeVisible({
    timeout: 30_000
  });

  await submitSearch(panel, {
    type: 'dataset',
    filter: scenario.filter_string
  });
  const results = resultsOf(panel);
  await expect(results).toBeVisible({ timeout: 30_000 });
  for (const did of scenario.expected) {
    await expect(
      results.getByRole('listitem', { name: did, exact: true })
    ).toBeVisible({ timeout: 30_000 });
  }
  await expect(results.getByRole('listitem')).toHaveCount(
    scenario.expected.length
  );
});
