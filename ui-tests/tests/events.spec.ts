/**
 * Rucio's live events in a real JupyterLab against the real local lake started
 * with its broker (`escape-dlaas lake up --events`, as scripts/ui-tests.sh does):
 * the panel turns "available" from Rucio's event, not from its poll; with the
 * broker stopped mid-transfer it still gets there by polling and says nothing
 * alarming. Each test makes available a dataset of its own, with a new file on
 * the lake's SAFE storage only, created as the lake's root account.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator, Page } from '@playwright/test';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  badge,
  makeAvailableButton,
  openMakeAvailable,
  openSignedInPanel,
  readLake,
  resultRow
} from './lake';

const SETTINGS = '/lab/api/settings/escape-dlaas:plugin';
const RUNTIME = path.resolve(__dirname, '../../escape_dlaas/lake/runtime');

const running = readLake();
/** The running lake with its broker, or null (then the tests are skipped). */
const lake = running?.instance.events ? running : null;
const NEEDS_LAKE =
  'needs a running lake with its broker: escape-dlaas lake up --events (scripts/ui-tests.sh)';

/** A new dataset of the user's, one new file on ESCAPE-SAFE only (made by the lake's root). */
function newData(purpose: string): string {
  const scope = `user.${lake!.users[0].account}`;
  const name = `${purpose}-${Date.now().toString(36)}`;
  const script = [
    'import os, sys, tempfile',
    'from rucio.client.uploadclient import UploadClient',
    'scope, name = sys.argv[1], sys.argv[2]',
    "path = os.path.join(tempfile.mkdtemp(), name + '.dat')",
    "open(path, 'wb').write(os.urandom(4096))",
    "UploadClient().upload([{'path': path, 'rse': 'ESCAPE-SAFE', 'did_scope': scope,",
    "  'dataset_scope': scope, 'dataset_name': name, 'register_after_upload': True}])"
  ].join('\n');
  execFileSync(lake!.venvPython, ['-c', script, scope, name], {
    env: {
      ...process.env,
      RUCIO_CONFIG: lake!.rucioConfig,
      PYTHONPATH: RUNTIME
    },
    stdio: 'pipe',
    timeout: 120_000
  });
  return `${scope}:${name}`;
}

/** Save the panel's check intervals, then load JupyterLab with them. */
async function openWithIntervals(
  page: IJupyterLabPageFixture,
  seconds: { pollInterval: number; transferPollInterval: number }
): Promise<Locator> {
  const saved = await page.request.put(SETTINGS, {
    data: { raw: JSON.stringify(seconds) }
  });
  expect(saved.ok()).toBe(true);
  await page.goto();
  return openSignedInPanel(page);
}

/** Search for the DID and ask for it at the notebook; its result row. */
async function makeAvailable(
  page: Page,
  panel: Locator,
  did: string
): Promise<Locator> {
  const row = await resultRow(panel, did);
  const dialog = await openMakeAvailable(page, row, did);
  await makeAvailableButton(dialog).click();
  return row;
}

test.use({ autoGoto: false });

test.describe('Live events', () => {
  test.beforeEach(() => {
    test.skip(lake === null, NEEDS_LAKE);
  });

  test.afterEach(async ({ page }) => {
    await page.request.put(SETTINGS, { data: { raw: '{}' } });
  });

  test('the panel turns available from Rucio’s event, not from its poll', async ({
    page
  }) => {
    const did = newData('ui-events');
    // Polls far apart (10 min): only the event can bring the news within the test.
    const panel = await openWithIntervals(page, {
      pollInterval: 600,
      transferPollInterval: 600
    });
    const row = await makeAvailable(page, panel, did);
    await expect(badge(row)).toHaveAttribute('data-state', 'AVAILABLE', {
      timeout: 60_000
    });
  });

  test('with the broker stopped mid-transfer, polling gets there and nothing alarming is said', async ({
    page
  }) => {
    const did = newData('ui-no-broker');
    const panel = await openWithIntervals(page, {
      pollInterval: 30,
      transferPollInterval: 3
    });
    const broker = JSON.parse(
      fs.readFileSync(path.join(lake!.dir, 'run', 'broker.json'), 'utf-8')
    );
    try {
      const row = await makeAvailable(page, panel, did);
      process.kill(-broker.pgid, 'SIGTERM');
      await expect(badge(row)).toHaveAttribute('data-state', 'AVAILABLE', {
        timeout: 90_000
      });
      // No error shown for the lost stream: polling is the normal fallback.
      await expect(panel.getByRole('alert')).toHaveCount(0);
      await expect(page.locator('.jp-Notification-Toast-error')).toHaveCount(0);
    } finally {
      // The broker back for the other tests (the rest of the lake keeps running).
      execFileSync('escape-dlaas', ['lake', 'up', '--state-dir', lake!.dir], {
        stdio: 'pipe',
        timeout: 180_000
      });
    }
  });
});
