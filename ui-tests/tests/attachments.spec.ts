/**
 * Notebooks that carry their data, in a real JupyterLab against the real
 * local lake (scripts/ui-tests.sh): attach a dataset to a notebook from the
 * Data Lake panel, save, close and reopen the notebook (it says it carries
 * data; the panel's "This notebook" tab lists it with its availability),
 * "Make all available" shows the total and makes it available, and a cell
 * reads the bytes at the paths `escape_dlaas.attached()` gives in the kernel.
 */
import { expect, test } from '@jupyterlab/galata';
import {
  API,
  badge,
  cancelRules,
  dialogOf,
  expectSignedIn,
  formatBytes,
  KERNEL_LAKE_CONFIG,
  NEEDS_LAKE,
  panelOf,
  readLake,
  resultRow,
  toast
} from './lake';

/** A seeded dataset of 2 files no other UI test makes available. */
const DID = 'cta:LST1_run3101_DL3';
/** Another seeded dataset, attached from the kernel (never made available here). */
const OTHER_DID = 'cta:LST1_run3094_DL3';

const lake = readLake();

test.use({ autoGoto: true });

test('attach from the panel, save, reopen, make all available, read the file in the kernel', async ({
  page,
  tmpPath
}) => {
  test.skip(lake === null, NEEDS_LAKE);
  const instance = lake!.instance.name;
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
  const panel = panelOf(page);
  await expect(
    panel.getByRole('tab', { name: 'This notebook', exact: true })
  ).toHaveAttribute('aria-selected', 'true');
  await expect(panel.getByText('No data attached yet.')).toBeVisible();

  // Attach from the panel: the dataset's details offer "Attach to notebook".
  await expectSignedIn(panel);
  const row = await resultRow(panel, DID);
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
  const carries = toast(page, `${tmpPath}/${name} carries 1 data attachment.`);
  await expect(carries).toBeVisible({ timeout: 20_000 });
  // Its "Show" opens the panel's "This notebook" tab (over the details shown before).
  await carries.getByRole('button', { name: 'Show' }).click();
  await expect(
    panel.getByRole('tab', { name: 'This notebook (1)' })
  ).toHaveAttribute('aria-selected', 'true');
  const attached = panel
    .getByRole('list', { name: 'Attached data' })
    .getByRole('listitem', { name: DID, exact: true })
    .last();
  const state = badge(attached);
  await expect(state).toHaveAttribute('data-state', 'NOT_AVAILABLE', {
    timeout: 30_000
  });
  await expect(
    panel.getByRole('status', { name: 'Attached data in total' })
  ).toContainText(size);

  // Make all available: the dialog shows the total to move and the target.
  await panel.getByRole('button', { name: 'Make all available…' }).click();
  const dialog = dialogOf(page);
  await expect(dialog.getByRole('status')).toHaveText(
    `In total ${size} will be copied to Notebook-local storage.`,
    { timeout: 30_000 }
  );
  await dialog.getByRole('button', { name: 'Make all available' }).click();
  await expect(state).toHaveAttribute('data-state', 'AVAILABLE', {
    timeout: 90_000
  });

  // In the kernel: the attachments with their local paths; read the bytes.
  await page.notebook.setCell(
    0,
    'code',
    [
      'import os, escape_dlaas',
      `lake = escape_dlaas.DataLake(config=${KERNEL_LAKE_CONFIG})`,
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
  await cancelRules(page.request, instance, DID);
});
