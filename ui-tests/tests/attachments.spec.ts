/**
 * Notebooks that carry their data, in a real JupyterLab against the real
 * local lake (scripts/ui-tests.sh): attach a dataset to a notebook from the
 * Data Lake panel, save, close and reopen the notebook (it says it carries
 * data; the panel's "This notebook" tab lists it with its availability),
 * "Make all available" shows the total and makes it available, and a cell
 * reads the bytes at the paths `escape_dlaas.attached()` gives in the kernel.
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

const API = '/escape-dlaas/instances';
/** A seeded dataset of 2 files no other UI test makes available. */
const DID = 'cta:LST1_run3101_DL3';
/** Another seeded dataset, attached from the kernel (never made available here). */
const OTHER_DID = 'cta:LST1_run3094_DL3';

function readInstance(): string | null {
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
  return config.DLaaS.instances[0].name;
}

const instance = readInstance();

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

test.use({ autoGoto: true });

test('attach from the panel, save, reopen, make all available, read the file in the kernel', async ({
  page,
  tmpPath
}) => {
  test.skip(
    instance === null,
    'needs a running lake: set ESCAPE_DLAAS_LAKE_DIR (see ui-tests/README.md)'
  );
  test.setTimeout(150_000);
  const name = 'carries-data.ipynb';
  await page.notebook.createNew(name);
  const known = await page.request.post(`${API}/${instance}/availability`, {
    data: { dids: [DID] }
  });
  const [{ bytes, files }] = (await known.json()).items;
  expect(files.at_notebook).toBe(0);
  const size = formatBytes(bytes.total);

  // The notebook toolbar's "Data" button opens the panel on this notebook's data.
  await page
    .locator('.jp-NotebookPanel-toolbar')
    .getByRole('button', { name: 'Data' })
    .click();
  const panel = page.getByRole('region', { name: 'Data Lake' });
  await expect(
    panel.getByRole('tab', { name: 'This notebook', exact: true })
  ).toHaveAttribute('aria-selected', 'true');
  await expect(panel.getByText('No data attached yet.')).toBeVisible();

  // Attach from the panel: the dataset's details offer "Attach to notebook".
  await expect(panel.getByRole('status', { name: 'Sign-in' })).toBeVisible({
    timeout: 30_000
  });
  await panel.getByRole('tab', { name: 'Search' }).click();
  await panel.getByRole('searchbox', { name: 'Name pattern' }).fill(DID);
  await panel.getByRole('combobox', { name: 'Type' }).selectOption('all');
  await panel.getByRole('textbox', { name: 'Metadata filter' }).press('Enter');
  const row = panel
    .getByRole('list', { name: 'Results' })
    .getByRole('listitem', { name: DID, exact: true });
  await expect(row).toBeVisible({ timeout: 30_000 });
  await row.getByRole('button', { name: /Show details/ }).click();
  await panel.getByRole('button', { name: 'Attach to notebook' }).click();
  await expect(
    page.getByText(`${DID} is attached to ${tmpPath}/${name}`)
  ).toBeVisible();

  // Saved with the notebook, in its metadata.
  await page.notebook.save();
  const saved = await page.request.get(`/api/contents/${tmpPath}/${name}`);
  const content = (await saved.json()).content;
  expect(content.metadata['escape-dlaas']).toEqual({
    version: 1,
    attachments: [{ kind: 'did', instance, did: DID }]
  });
  await page.notebook.close(true);

  // Reopened, the notebook says it carries data and the panel lists it.
  await page.sidebar.openTab('filebrowser');
  await page.filebrowser.open(`${tmpPath}/${name}`);
  const toast = page.locator('.Toastify__toast', {
    hasText: `${tmpPath}/${name} carries 1 data attachment.`
  });
  await expect(toast).toBeVisible({ timeout: 20_000 });
  // Its "Show" opens the panel's "This notebook" tab (over the details shown before).
  await toast.getByRole('button', { name: 'Show' }).click();
  await expect(
    panel.getByRole('tab', { name: 'This notebook (1)' })
  ).toHaveAttribute('aria-selected', 'true');
  const attached = panel
    .getByRole('list', { name: 'Attached data' })
    .getByRole('listitem', { name: DID, exact: true })
    .last();
  const badge = attached.locator('.jp-DLaaS-availability');
  await expect(badge).toHaveAttribute('data-state', 'NOT_AVAILABLE', {
    timeout: 30_000
  });
  await expect(
    panel.getByRole('status', { name: 'Attached data in total' })
  ).toContainText(size);

  // Make all available: the dialog shows the total to move and the target.
  await panel.getByRole('button', { name: 'Make all available…' }).click();
  const dialog = page.locator('.jp-Dialog');
  await expect(dialog.getByRole('status')).toHaveText(
    `In total ${size} will be copied to Notebook-local storage.`,
    { timeout: 30_000 }
  );
  await dialog.getByRole('button', { name: 'Make all available' }).click();
  await expect(badge).toHaveAttribute('data-state', 'AVAILABLE', {
    timeout: 90_000
  });

  // In the kernel: the attachments with their local paths; read the bytes.
  await page.notebook.setCell(
    0,
    'code',
    [
      'import os, escape_dlaas',
      'lake = escape_dlaas.DataLake(config=os.path.join(os.environ["ESCAPE_DLAAS_LAKE_DIR"], "jupyter"))',
      '[data] = escape_dlaas.attached(lake=lake)',
      'print(data.did, data.available, len(data.local_paths), sum(len(open(p, "rb").read()) for p in data.local_paths))'
    ].join('\n')
  );
  await page.notebook.runCell(0);
  expect(await page.notebook.getCellTextOutput(0)).toEqual([
    `${DID} True ${files.total} ${bytes.total}\n`
  ]);

  // From the kernel: attach() reaches the open notebook (an unsaved change) and its tab.
  await page.notebook.setCell(
    0,
    'code',
    `escape_dlaas.attach("${OTHER_DID}", lake=lake)`
  );
  await page.notebook.runCell(0);
  expect((await page.notebook.getCellTextOutput(0))?.join('')).toContain(
    `Attached ${OTHER_DID} to this notebook in JupyterLab`
  );
  await expect(
    panel.getByRole('tab', { name: 'This notebook (2)' })
  ).toBeVisible();
  await expect(
    panel
      .getByRole('list', { name: 'Attached data' })
      .getByRole('listitem', { name: OTHER_DID, exact: true })
      .first()
  ).toBeVisible();

  // Leave the lake as it was: cancel the rule made here.
  const rules = await page.request.get(`${API}/${instance}/rules`);
  for (const rule of (await rules.json()).rules as {
    id: string;
    did: string;
  }[]) {
    if (rule.did === DID) {
      const cancelled = await page.request.delete(
        `${API}/${instance}/rules/${rule.id}`
      );
      expect(cancelled.ok()).toBe(true);
    }
  }
});
