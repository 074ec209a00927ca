/**
 * Upload from the file browser, in a real JupyterLab against the real local
 * lake (scripts/ui-tests.sh): the context menu of a folder opens the dialog,
 * which offers the catalogue's metadata keys with their types and refuses a
 * word for a number; the upload is followed in a notification to its outcome,
 * and the panel's metadata search finds the data.
 */
import { expect, test } from '@jupyterlab/galata';
import { API, NEEDS_LAKE, readLake } from './lake';

const lake = readLake();

test.use({ autoGoto: true });

test.describe('Upload to the data lake', () => {
  test.beforeEach(() => {
    test.skip(lake === null, NEEDS_LAKE);
  });

  test('a folder with metadata, from the context menu to the search', async ({
    page,
    request,
    tmpPath
  }) => {
    const tag = Math.random().toString(36).slice(2, 10);
    const folder = `results-${tag}`;
    await page.contents.uploadContent(
      `spectrum ${tag}\n`.repeat(200),
      'text',
      `${tmpPath}/${folder}/spectrum_${tag}.txt`
    );
    await page.contents.uploadContent(
      `{"tag": "${tag}"}`,
      'text',
      `${tmpPath}/${folder}/model_${tag}.json`
    );
    await page.filebrowser.refresh();

    await page
      .locator('.jp-DirListing-item', { hasText: folder })
      .click({ button: 'right' });
    await page.getByRole('menuitem', { name: 'Upload to Data Lake…' }).click();

    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.getByRole('status')).toContainText(
      /2 files, [\d.]+ kB, to ESCAPE-USERDISK/,
      { timeout: 30000 } // the first request of a fresh lake signs in
    );
    await expect(dialog.getByLabel('Dataset (new or existing)')).toHaveValue(
      folder
    );
    const upload = dialog.getByRole('button', { name: 'Upload' });

    // the catalogue's keys are offered with their type; a word is not a number
    await dialog.getByLabel('Key 1', { exact: true }).fill('energy');
    const value = dialog.getByLabel('Value 1 (number)', { exact: true });
    await value.fill('high');
    await expect(dialog.getByRole('alert')).toContainText(
      'energy: A number, e.g. 150 or 1.5e3.'
    );
    await expect(upload).toBeDisabled();
    await value.fill('151.5');
    await dialog.getByRole('button', { name: 'Add metadata' }).click();
    await dialog.getByLabel('Key 2', { exact: true }).fill('target');
    await dialog.getByLabel('Value 2 (text)', { exact: true }).fill(tag);
    await expect(upload).toBeEnabled();
    await upload.click();

    await expect(
      page.locator('.jp-Notification-Toast, .Toastify__toast').filter({
        hasText: `uploaded to user.alice:${folder} at ESCAPE-USERDISK`
      })
    ).toBeVisible({ timeout: 30000 });

    const instance = `${API}/${lake!.instance.name}`;
    const found = await request.get(
      `${instance}/search?scope=user.alice&type=dataset&filter=${encodeURIComponent(`target=${tag},energy>150`)}`
    );
    expect(found.ok()).toBe(true);
    const { items } = (await found.json()) as { items: { did: string }[] };
    expect(items.map(item => item.did)).toEqual([`user.alice:${folder}`]);
  });
});
