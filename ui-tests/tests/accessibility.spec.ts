/**
 * Accessibility of the Data Lake panel: axe-core (WCAG 2.0 and 2.1, A and AA)
 * over every state of the panel, in JupyterLab's light and dark themes, with a
 * screenshot of each state in each theme.
 *
 * Runs against the real local lake that scripts/ui-tests.sh starts; every DID
 * comes from the lake's own description ($ESCAPE_DLAAS_LAKE_DIR/lake.json).
 * The states the seeded lake cannot hold steadily (a transfer replicating or
 * stuck, an empty collection, a DID Rucio does not know, a lost file, an
 * expired sign-in, an unreachable Rucio) are shown by rewriting the server's
 * real answers for one DID; the test says so where it does.
 */
import AxeBuilder from '@axe-core/playwright';
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator, Page, Route } from '@playwright/test';
import * as fs from 'fs';
import {
  API,
  errorToast,
  letTheClickReachRucio,
  makeAvailableAtNotebook,
  makeAvailableButton,
  NEEDS_LAKE,
  openMakeAvailable,
  openSignedInPanel,
  PANEL_ID,
  panelOf,
  readLake,
  resultsOf,
  searchToTheEnd,
  showDetails as showDetailsCommand
} from './lake';

const THEMES = ['JupyterLab Light', 'JupyterLab Dark'];
/** What axe checks: WCAG 2.0 A and AA, and what WCAG 2.1 adds at AA. */
const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21aa'];

const running = readLake();
/** The notebook's storage: the RSE marked notebook-local. */
const notebook = running?.rses.find(
  rse => rse.attributes.notebook_local === 'True'
);
/** What these tests use of the running lake, or null without one (then they are skipped). */
const lake = running && {
  instance: running.instance.name,
  account: running.demoUser,
  /** The notebook's storage, its QoS class, and another storage. */
  notebookRse: notebook!.name,
  notebookQos: notebook!.qos,
  archive: running.rses.find(rse => rse !== notebook)!.name,
  quick: running.scenarios.quick_rule.did,
  embargo: running.scenarios.embargo.did,
  embargoUntil: running.scenarios.embargo.embargo_until,
  containers: running.scenarios.containers,
  // Several files, with a DOI: the richest details.
  multiFile: running.scenarios.doi_datasets.find(did =>
    running.scenarios.metadata_search.expected.includes(did)
  )!
};

// The default sidebar width, and tall enough to show a whole state at once.
test.use({ autoGoto: true, viewport: { width: 1024, height: 1700 } });

/** The container holding the quick dataset: partly at the notebook once that is. */
function quickContainer(): string {
  const scope = lake!.quick.split(':')[0];
  return lake!.containers.find(did => did.startsWith(`${scope}:`))!;
}

/** Open the details of a DID (the extension's own command) and wait for its files. */
async function showDetails(
  page: Page,
  panel: Locator,
  did: string
): Promise<void> {
  await showDetailsCommand(page, did);
  await expect(
    panel.getByRole('heading', { name: did.split(':')[1], exact: true })
  ).toBeVisible();
  await expect(panel.getByRole('table', { name: 'Metadata' })).toBeVisible({
    timeout: 30_000
  });
  await expect(
    panel
      .getByRole('list', { name: /^Files/ })
      .getByRole('listitem')
      .first()
  ).toBeVisible({ timeout: 30_000 });
}

/** A row of the panel showing an availability. */
function rowIn(panel: Locator, row: string, state: string): Locator {
  return panel
    .locator(row)
    .filter({ has: panel.page().locator(`[data-state="${state}"]`) })
    .first();
}

/** The availability badges shown, by state. */
async function badgeStates(panel: Locator): Promise<string[]> {
  const states = await panel
    .locator('.jp-DLaaS-availability')
    .evaluateAll(nodes => nodes.map(node => node.getAttribute('data-state')!));
  return [...new Set(states)].sort();
}

/** One line per element axe finds at fault, with what to fix. */
function readable(
  violations: Awaited<ReturnType<AxeBuilder['analyze']>>['violations']
): string[] {
  return violations.flatMap(violation =>
    violation.nodes.map(
      node =>
        `${violation.id} (${violation.impact}) at ${node.target.join(' ')}: ` +
        (node.failureSummary ?? violation.help).replace(/\s*\n\s*/g, ' ')
    )
  );
}

/** axe over the panel alone: one readable line per fault. */
async function axeFaults(
  page: Page
): Promise<{ faults: string[]; summary: string }> {
  // JupyterLab's <body> is 0 px tall and clips: axe would then take every
  // element for hidden and weigh no colour. Give it the window's height
  // (the shell is positioned on its own; nothing moves).
  await page.evaluate(() => {
    document.documentElement.style.height = '100%';
    document.body.style.height = '100%';
  });
  const results = await new AxeBuilder({ page })
    .include(`#${PANEL_ID}`)
    .withTags(WCAG_TAGS)
    .analyze();
  // Not vacuous: axe did weigh the colours of the panel's text.
  expect(
    [...results.passes, ...results.violations].map(rule => rule.id)
  ).toContain('color-contrast');
  const review = results.incomplete.map(rule => rule.id).join(', ') || 'none';
  return {
    faults: readable(results.violations),
    summary: `${results.violations.length} violations, ${results.passes.length} rules passed, to review: ${review}`
  };
}

/**
 * What the panel cuts (an ellipsis, clamped lines) at the current width: each
 * must be a name whose full text shows on hover (a title on it or around it),
 * so sizes and states are never cut.
 */
async function expectNothingCutWithoutTitle(panel: Locator): Promise<void> {
  const cut = await panel.evaluate(root =>
    [...root.querySelectorAll<HTMLElement>('*')]
      .filter(node => {
        const style = getComputedStyle(node);
        const clamps =
          style.textOverflow === 'ellipsis' ||
          style.getPropertyValue('-webkit-line-clamp') !== 'none';
        return (
          clamps &&
          (node.scrollWidth > node.clientWidth + 1 ||
            node.scrollHeight > node.clientHeight + 1)
        );
      })
      .map(node => {
        const text = node.textContent!.trim();
        const title = node.closest('[title]')?.getAttribute('title') ?? '';
        return `${node.className} "${text}"${title.includes(text) ? ' (full text on hover)' : ''}`;
      })
  );
  test.info().annotations.push({
    type: 'cut at this width',
    description: cut.join('; ') || 'nothing'
  });
  expect(cut.filter(line => !line.endsWith('(full text on hover)'))).toEqual(
    []
  );
}

/**
 * Check the panel as it is now, in the light then the dark theme: no axe
 * violation (also with the pointer over `hover`), and the screenshot
 * `<state>-light.png` / `<state>-dark.png`, `mask` hidden in it. The theme
 * changes with JupyterLab's own command (apputils:change-theme).
 */
async function checkInBothThemes(
  page: IJupyterLabPageFixture,
  panel: Locator,
  state: string,
  options: { hover?: Locator; mask?: Locator[] } = {}
): Promise<void> {
  const { hover } = options;
  await expectNothingCutWithoutTitle(panel);
  for (const theme of THEMES) {
    await page.theme.setTheme(theme);
    // No hover, no focus ring, no caret: the state alone.
    await page.evaluate(() =>
      (document.activeElement as HTMLElement | null)?.blur()
    );
    await page.mouse.move(900, 700);
    const short = theme.replace('JupyterLab ', '').toLowerCase();
    const { faults, summary } = await axeFaults(page);
    test.info().annotations.push({
      type: 'axe',
      description: `${state}, ${short}: ${summary}`
    });
    // Soft: a light-theme problem must not hide the dark-theme one.
    expect.soft(faults, `axe, ${state}, ${theme}`).toEqual([]);
    if (hover) {
      await hover.hover();
      const hovered = await axeFaults(page);
      test.info().annotations.push({
        type: 'axe',
        description: `${state}, ${short}, pointer over a row: ${hovered.summary}`
      });
      expect
        .soft(hovered.faults, `axe, ${state}, ${theme}, pointer over a row`)
        .toEqual([]);
      await page.mouse.move(900, 700);
    }
    await expect
      .soft(panel, `screenshot, ${state}, ${theme}`)
      .toHaveScreenshot(`${state}-${short}.png`, {
        mask: [panel.locator(UNSTEADY.join(', ')), ...(options.mask ?? [])],
        stylePath: steadyStyle()
      });
  }
}

/**
 * What changes from run to run: times, durations, latencies, the lake's port.
 * Masked in the screenshots, and given a fixed size there, so that neither
 * their text nor the lines it wraps differ from one run to the next.
 */
const UNSTEADY = [
  '.jp-DLaaS-tokenValidity',
  '.jp-DLaaS-expiry',
  '.jp-DLaaS-latency',
  '.jp-DLaaS-lastChecked time',
  '.jp-DLaaS-url'
];

/** The stylesheet applied while taking a screenshot (a file, as Playwright wants). */
function steadyStyle(): string {
  const file = test.info().outputPath('steady.css');
  fs.writeFileSync(
    file,
    `${UNSTEADY.join(', ')} { display: inline-block; width: 8em; height: 1.2em; overflow: hidden; vertical-align: bottom; }`
  );
  return file;
}

/** Requests to an endpoint of the server extension (whatever their query). */
function endpoint(name: string): (url: URL) => boolean {
  return url =>
    url.pathname.includes('/escape-dlaas/') &&
    url.pathname.endsWith(`/${name}`);
}

/**
 * Rucio lists DIDs in no fixed order: it changes as the lake's daemons update
 * rows (a minute after a rule is made, say). Sort each page of results by DID
 * before the panel gets it, so that the screenshots compare.
 */
async function sortSearchPages(page: Page): Promise<void> {
  await page.route(endpoint('search'), async route => {
    const response = await route.fetch();
    const body = await response.json();
    if (Array.isArray(body.items)) {
      body.items.sort((a: { did: string }, b: { did: string }) =>
        a.did.localeCompare(b.did)
      );
    }
    await route.fulfill({ response, json: body });
  });
}

/**
 * Rewrite the server's real answers for some DIDs, so that the panel shows
 * states the seeded lake does not hold steadily.
 */
async function rewriteAvailability(
  page: Page,
  states: Record<string, Record<string, unknown>>
): Promise<void> {
  const rewrite = async (route: Route) => {
    const response = await route.fetch();
    const body = await response.json();
    for (const item of body.items) {
      const forced = states[item.did];
      if (!forced) {
        continue;
      }
      // `describe` answers search items holding an availability; `availability` the availabilities.
      if ('availability' in item) {
        item.availability = { ...(item.availability ?? {}), ...forced };
      } else {
        Object.assign(item, forced);
      }
    }
    await route.fulfill({ response, json: body });
  };
  await page.route(endpoint('describe'), rewrite);
  await page.route(endpoint('availability'), rewrite);
}

function availability(
  did: string,
  state: string,
  files: [number, number, number],
  reason: string | null = null
): Record<string, unknown> {
  const [total, atNotebook, replicating] = files;
  return {
    did,
    state,
    files: { total, at_notebook: atNotebook, replicating },
    bytes: { total: total * 4096, at_notebook: atNotebook * 4096 },
    rule_ids: [],
    reason
  };
}

test.describe('Data Lake panel accessibility', () => {
  test.skip(lake === null, NEEDS_LAKE);

  test.beforeAll(async ({ playwright }, testInfo) => {
    const request = await playwright.request.newContext({
      baseURL: testInfo.project.use.baseURL
    });
    await makeAvailableAtNotebook(request, lake!.instance, lake!.quick);
    await request.dispose();
  });

  test.beforeEach(async ({ page }) => {
    await sortSearchPages(page);
  });

  test('search form, before any search', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    await expect(
      panel.getByRole('searchbox', { name: 'Name pattern' })
    ).toBeEmpty();
    await checkInBothThemes(page, panel, 'search-empty');
  });

  test('filter builder with two OR groups', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    await panel
      .getByRole('textbox', { name: 'Metadata filter' })
      .fill('telescope=lofar,energy>140;telescope=ska');
    await panel.getByRole('button', { name: 'Filter builder' }).click();
    await expect(
      panel
        .getByRole('group', { name: 'Filter builder' })
        .locator('.jp-DLaaS-filterRow')
    ).toHaveCount(3);
    await checkInBothThemes(page, panel, 'filter-builder');
  });

  test('search results with every availability the lake holds', async ({
    page
  }) => {
    const panel = await openSignedInPanel(page);
    const scope = lake!.quick.split(':')[0];
    await searchToTheEnd(panel, { pattern: `${scope}:*`, type: 'collection' });
    // Available, not here, and containers whose state is shown on request.
    expect(await badgeStates(panel)).toEqual([
      'AVAILABLE',
      'NOT_AVAILABLE',
      'ON_REQUEST'
    ]);
    await checkInBothThemes(page, panel, 'search-results', {
      hover: rowIn(panel, '.jp-DLaaS-result', 'NOT_AVAILABLE')
    });
  });

  test('search results with files', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    await searchToTheEnd(panel, { pattern: `${lake!.quick}*` });
    await expect(resultsOf(panel).getByRole('listitem')).toHaveCount(2);
    await checkInBothThemes(page, panel, 'search-results-files');
  });

  test('search results in the states the seeded lake cannot hold', async ({
    page
  }) => {
    // Answers rewritten: the seeded lake has no transfer replicating or stuck
    // for long, no empty collection, and Rucio knows all its DIDs.
    const scope = lake!.quick.split(':')[0];
    const panel = await openSignedInPanel(page);
    const request = page.request;
    const found = await request.get(
      `${API}/${lake!.instance}/search?q=${encodeURIComponent(`${scope}:*`)}&type=collection`
    );
    const dids: string[] = (await found.json()).items
      .map((item: { did: string }) => item.did)
      .sort();
    expect(dids.length).toBeGreaterThanOrEqual(4);
    const [replicating, stuck, empty, unknown] = dids;
    await rewriteAvailability(page, {
      [replicating]: availability(replicating, 'REPLICATING', [3, 1, 2]),
      [stuck]: availability(
        stuck,
        'STUCK',
        [2, 0, 0],
        'no source replica could be copied'
      ),
      [empty]: availability(empty, 'EMPTY', [0, 0, 0]),
      [unknown]: availability(
        unknown,
        'UNKNOWN',
        [0, 0, 0],
        'Rucio does not know this DID'
      )
    });
    await searchToTheEnd(panel, { pattern: `${scope}:*`, type: 'collection' });
    expect(await badgeStates(panel)).toEqual(
      expect.arrayContaining(['EMPTY', 'REPLICATING', 'STUCK', 'UNKNOWN'])
    );
    await checkInBothThemes(page, panel, 'search-results-rewritten', {
      hover: rowIn(panel, '.jp-DLaaS-result', 'EMPTY')
    });
  });

  test('info: no data matches the search', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    const scope = lake!.quick.split(':')[0];
    await searchToTheEnd(panel, { pattern: `${scope}:no_such_data_*` });
    await expect(
      panel.getByRole('status').filter({ hasText: 'No data matches' })
    ).toBeVisible();
    await checkInBothThemes(page, panel, 'info-no-match');
  });

  test('error: the server refuses the search (400)', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    const scope = lake!.quick.split(':')[0];
    const answer = page.waitForResponse(
      response =>
        response.url().includes(`${API}/`) &&
        response.url().includes('/search?') &&
        response.status() === 400
    );
    await searchToTheEnd(panel, { pattern: `${scope}:* with spaces` });
    await answer;
    await expect(
      panel.getByRole('alert', { name: 'Search failed' })
    ).toBeVisible();
    await checkInBothThemes(page, panel, 'error-search-refused');
  });

  test('error: a filter the panel cannot read', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    const filter = panel.getByRole('textbox', { name: 'Metadata filter' });
    await filter.fill('energy>>5');
    await filter.press('Enter');
    await expect(filter).toHaveAttribute('aria-invalid', 'true');
    await expect(panel.getByRole('alert')).toBeVisible();
    await checkInBothThemes(page, panel, 'error-filter');
  });

  test('details of data available at the notebook', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    await showDetails(page, panel, lake!.quick);
    // The user's rule towards the notebook (OK), with its actions.
    await expect(
      panel.getByRole('button', { name: /^Cancel the rule at/ })
    ).toBeVisible();
    await expect(
      panel.locator('.jp-DLaaS-ruleState.jp-mod-ok')
    ).not.toHaveCount(0);
    await checkInBothThemes(page, panel, 'details-available');
  });

  test('details of a container partly at the notebook', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    await showDetails(page, panel, quickContainer());
    await expect(
      panel.locator('.jp-DLaaS-summary .jp-DLaaS-availability')
    ).toHaveAttribute('data-state', 'PARTIAL', { timeout: 30_000 });
    await checkInBothThemes(page, panel, 'details-partial');
  });

  test('details of data elsewhere, with a DOI', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    await showDetails(page, panel, lake!.multiFile);
    await expect(panel.getByRole('link', { name: /^10\./ })).toBeVisible();
    await checkInBothThemes(page, panel, 'details-elsewhere');
  });

  test('details in the rule and file states the seeded lake cannot hold', async ({
    page
  }) => {
    // Answers rewritten: the seeded lake's rules are all OK once copied.
    const did = lake!.multiFile;
    await page.route(endpoint('did'), async route => {
      const response = await route.fetch();
      const body = await response.json();
      const template = body.rules[0];
      const rule = (
        state: string,
        target: string,
        locks: [number, number, number],
        error: string | null
      ) => ({
        ...template,
        id: `${template.id}-${state}`,
        account: lake!.account,
        rse_expression: target,
        state,
        locks: { ok: locks[0], replicating: locks[1], stuck: locks[2] },
        expires_at: '2030-01-01T00:00:00+00:00',
        towards_notebook: target !== lake!.archive,
        error,
        // the user's own unlocked rules on the demo policy: Extend and Cancel shown
        locked: false,
        can_extend: true,
        can_cancel: true
      });
      body.rules = [
        ...body.rules,
        rule('REPLICATING', lake!.notebookRse, [1, 2, 0], null),
        rule(
          'STUCK',
          `QOS=${lake!.notebookQos}`,
          [1, 1, 1],
          'Copy failed: no space left on the device'
        ),
        rule('SUSPENDED', lake!.archive, [0, 0, 3], 'Suspended by an operator')
      ];
      body.availability = {
        ...body.availability,
        state: 'STUCK',
        reason: 'Copy failed: no space left on the device'
      };
      await route.fulfill({ response, json: body });
    });
    await page.route(endpoint('did/files'), async route => {
      const response = await route.fetch();
      const body = await response.json();
      const [copying, stuck, lost] = body.files;
      copying.state = 'REPLICATING';
      copying.replicas.push({
        rse: 'NOTEBOOK-LOCAL',
        state: 'COPYING',
        qos_class: null
      });
      stuck.state = 'STUCK';
      stuck.reason = 'Copy failed: no space left on the device';
      lost.state = 'LOST';
      lost.replicas = lost.replicas.map((replica: object) => ({
        ...replica,
        state: 'UNAVAILABLE'
      }));
      await route.fulfill({ response, json: body });
    });
    const panel = await openSignedInPanel(page);
    await showDetails(page, panel, did);
    for (const state of ['replicating', 'stuck', 'suspended']) {
      await expect(
        panel.locator(`.jp-DLaaS-ruleState.jp-mod-${state}`)
      ).toBeVisible();
    }
    for (const state of ['replicating', 'stuck', 'lost']) {
      await expect(
        panel.locator(`.jp-DLaaS-fileState.jp-mod-${state}`)
      ).toBeVisible();
    }
    // Rucio's reason for the stuck transfer, as a warning.
    await expect(
      panel.getByRole('alert').filter({ hasText: 'Rucio says' })
    ).toBeVisible();
    await checkInBothThemes(page, panel, 'details-rewritten');
  });

  test('error: make available refused (embargo), in the details', async ({
    page
  }) => {
    await letTheClickReachRucio(page);
    const panel = await openSignedInPanel(page);
    await searchToTheEnd(panel, { pattern: lake!.embargo });
    const dialog = await openMakeAvailable(page, panel, lake!.embargo);
    await makeAvailableButton(dialog).click();
    const error = errorToast(page, lake!.embargo);
    await expect(error).toBeVisible({ timeout: 60_000 });
    await error.getByRole('button', { name: 'Show details' }).click();
    await expect(
      panel.getByRole('alert', { name: 'Make available failed' })
    ).toBeVisible();
    await expect(
      panel
        .getByRole('list', { name: /^Files/ })
        .getByRole('listitem')
        .first()
    ).toBeVisible({ timeout: 30_000 });
    // The embargo ends a year after the lake was made: a date of the day.
    await checkInBothThemes(page, panel, 'error-make-available', {
      mask: [panel.getByText(lake!.embargoUntil)]
    });
  });

  test('error: details of a DID Rucio does not know (404)', async ({
    page
  }) => {
    const panel = await openSignedInPanel(page);
    const scope = lake!.quick.split(':')[0];
    await showDetailsCommand(page, `${scope}:no_such_dataset`);
    await expect(
      panel.getByRole('alert', { name: 'Could not load the details' })
    ).toBeVisible({ timeout: 30_000 });
    await checkInBothThemes(page, panel, 'error-details');
  });

  test('my data, nothing watched yet', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    await panel.getByRole('tab', { name: /^My data/ }).click();
    await expect(panel.getByText('Nothing watched yet.')).toBeVisible();
    await checkInBothThemes(page, panel, 'watched-empty');
  });

  test('my data, with data in several states', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    for (const did of [lake!.quick, quickContainer(), lake!.multiFile]) {
      await showDetails(page, panel, did);
      await panel.getByRole('button', { name: 'Watch', exact: true }).click();
      await panel.getByRole('button', { name: 'Back to the list' }).click();
    }
    await panel.getByRole('tab', { name: /^My data/ }).click();
    const watched = panel.getByRole('list', { name: 'Watched data' });
    await expect(watched.getByRole('listitem')).toHaveCount(3);
    await expect
      .poll(() => badgeStates(panel), { timeout: 30_000 })
      .toEqual(['AVAILABLE', 'NOT_AVAILABLE', 'PARTIAL']);
    await checkInBothThemes(page, panel, 'watched', {
      hover: rowIn(panel, '.jp-DLaaS-watchedItem', 'NOT_AVAILABLE')
    });
  });

  test('instances, Rucio reachable', async ({ page }) => {
    const panel = await openSignedInPanel(page);
    await panel.getByRole('tab', { name: 'Instances' }).click();
    await expect(panel.getByText('Reachable', { exact: true })).toBeVisible();
    await checkInBothThemes(page, panel, 'instances');
  });

  test('warnings: sign-in needed, version mismatch, Rucio unreachable', async ({
    page
  }) => {
    // Answers rewritten: the lake's token never lapses during a test, and
    // its server always runs the version of this page.
    await page.route(endpoint('status'), async route => {
      const response = await route.fetch();
      const body = await response.json();
      body.version = `${body.version}-other`;
      for (const instance of body.instances) {
        instance.reachable = false;
        instance.rucio_version = null;
        instance.latency_ms = null;
        instance.error = 'Rucio did not answer within 30 s';
      }
      await route.fulfill({ response, json: body });
    });
    await page.route(endpoint('whoami'), route =>
      route.fulfill({
        status: 401,
        json: {
          message:
            'Your token has expired: sign in to JupyterHub again, then press Retry.',
          reason: 'token_expired'
        }
      })
    );
    // The panel asked before the rewriting began: load the page again.
    await page.reload();
    await page.sidebar.openTab(PANEL_ID);
    const panel = panelOf(page);
    await expect(
      panel.getByRole('alert', { name: 'Sign-in needed' })
    ).toBeVisible({ timeout: 30_000 });
    await expect(
      panel.getByRole('alert', { name: 'Version mismatch' })
    ).toBeVisible();
    await panel.getByRole('tab', { name: 'Instances' }).click();
    await expect(
      panel.getByText('Not reachable', { exact: true })
    ).toBeVisible();
    await checkInBothThemes(page, panel, 'warnings');
  });
});
