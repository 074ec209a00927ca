/**
 * The ESAP basket in the Data Lake panel, in a real JupyterLab against the
 * real local lake (scripts/ui-tests.sh). The basket is handed over at launch
 * as a file (c.DLaaS.esap.basket_file in jupyter_server_test_config.py), in
 * ESAP's format; the server resolves its Rucio items against the lake. The
 * ESAP API itself is tested against its stand-in in pytest
 * (tests/integration/test_basket_lake.py).
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  badge,
  NEEDS_LAKE,
  PANEL_ID,
  panelOf,
  readLake,
  resultsOf,
  submitSearch
} from './lake';

/** Where the server reads the basket (jupyter_server_test_config.py). */
const BASKET_FILE =
  process.env.ESCAPE_DLAAS_UI_BASKET ??
  path.join(os.tmpdir(), 'escape-dlaas-ui-basket.json');

const running = readLake();
/** What these tests use of the running lake, or null without one (then they are skipped). */
const lake = running && {
  // A seeded dataset no other UI test makes available (the quick-rule one is, earlier in a full run).
  plain: 'cta:LST1_run3093_DL3',
  embargoed: running.scenarios.embargo.did,
  until: running.scenarios.embargo.embargo_until
};

/** A profile page of ESAP's user-profiles API: item_data as JSON text. */
function esapPage(items: unknown[]): unknown {
  return {
    count: 1,
    results: [
      {
        user_name: 'alice',
        shopping_cart: items.map((item, index) => ({
          id: index + 1,
          item_data: typeof item === 'string' ? item : JSON.stringify(item)
        }))
      }
    ]
  };
}

function rucio(did: string): unknown {
  const [scope, name] = did.split(':');
  return { archive: 'rucio', record: { scope, name } };
}

test.use({ autoGoto: true });

test.afterEach(() => {
  fs.rmSync(BASKET_FILE, { force: true });
});

test('the basket lists Rucio items with their availability, other items as such, and makes all available', async ({
  page
}) => {
  test.skip(lake === null, NEEDS_LAKE);
  fs.writeFileSync(
    BASKET_FILE,
    JSON.stringify(
      esapPage([
        rucio(lake!.plain),
        rucio(lake!.embargoed),
        { archive: 'apertif', record: { name: 'WSRTA190101' } },
        '{not json'
      ])
    )
  );
  await page.sidebar.openTab(PANEL_ID);
  const panel = panelOf(page);
  await panel.getByRole('tab', { name: 'Basket' }).click();

  const list = panel.getByRole('list', { name: 'Basket' });
  await expect(list.getByRole('listitem')).toHaveCount(4, { timeout: 30_000 });
  const plain = list.getByRole('listitem', { name: lake!.plain });
  await expect(badge(plain)).toBeVisible();
  await expect(
    list.getByRole('listitem', { name: lake!.embargoed })
  ).toContainText(`Embargoed until ${lake!.until}`);
  await expect(list).toContainText('Not Rucio data (archive apertif)');
  await expect(list).toContainText(
    'Unreadable item: its item_data is not JSON'
  );
  await expect(
    panel.getByRole('status').filter({ hasText: 'to copy' })
  ).toBeVisible();

  // "Make all available": the shared dialog with the target, lifetime and total; cancelled, nothing asked of Rucio
  let rulesAsked = 0;
  page.on('request', request => {
    if (request.method() === 'POST' && request.url().endsWith('/rules')) {
      rulesAsked++;
    }
  });
  await panel.getByRole('button', { name: 'Make all available' }).click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText('Make the basket available');
  await expect(dialog).toContainText(
    '1 data set of your basket is not at the notebook yet.'
  );
  await expect(dialog).toContainText('will be copied to', { timeout: 30_000 });
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  expect(rulesAsked).toBe(0);
});

test('an ESAP that cannot be reached is explained in the tab, and the rest of the panel works', async ({
  page
}) => {
  test.skip(lake === null, NEEDS_LAKE);
  // The server's own answer for an unreachable ESAP (pytest checks the server gives it).
  await page.route('**/escape-dlaas/basket**', route =>
    route.fulfill({
      status: 503,
      contentType: 'application/json',
      body: JSON.stringify({
        message:
          'ESAP cannot be reached at https://esap.example.org/esap-api/accounts/user-profiles/; the rest of the Data Lake panel works without it.',
        reason: 'service_unreachable',
        service: 'ESAP'
      })
    })
  );
  await page.sidebar.openTab(PANEL_ID);
  const panel = panelOf(page);
  await panel.getByRole('tab', { name: 'Basket' }).click();
  await expect(panel.getByText('ESAP cannot be reached')).toBeVisible({
    timeout: 30_000
  });
  await expect(
    panel.getByRole('button', { name: 'Reload basket' })
  ).toBeVisible();

  await submitSearch(panel, { pattern: lake!.plain });
  await expect(resultsOf(panel)).toContainText(lake!.plain.split(':')[1], {
    timeout: 30_000
  });
});
