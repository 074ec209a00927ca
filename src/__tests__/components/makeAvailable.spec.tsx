/**
 * The make-available dialog knows before the click what Rucio would do:
 * embargo, quota (used, limit, needed), storage for the target, an existing
 * rule; it turns its accept button off when Rucio would surely refuse.
 */
import { Dialog, Notification } from '@jupyterlab/apputils';
import { UseSignal } from '@jupyterlab/ui-components';
import { fireEvent, waitFor, within } from '@testing-library/dom';
import React from 'react';

import { DataLakeActions } from '../../actions';
import { DataLakeAPI } from '../../api/client';
import { IRulePreview } from '../../api/types';
import { MakeAvailableForm } from '../../components/MakeAvailableForm';
import { DataLakeModel } from '../../models/datalake';
import { RulePreviewModel } from '../../models/preview';
import { until } from '../async';
import { availability, FakeLake, INSTANCE, rule, TARGETS } from '../fakeLake';
import { jsonResponse } from '../fakeServer';
import { cleanup, dialog, render, trans } from '../testUtils';

const did = 'lofar:L2023_712399_HBA_raw';
const item = {
  did,
  bytes: 198144,
  length: 3,
  availability: availability(did, 'NOT_AVAILABLE', { total: 3 }, 198144)
};

const EMBARGO: Partial<IRulePreview> = {
  outcome: 'refused',
  embargo: {
    until: '2030-01-01',
    did: 'cta:CTA_LST1_DL3_2024',
    message: `${did} is embargoed until 2030-01-01 (the embargo is set on cta:CTA_LST1_DL3_2024): the data lake refuses to make it available before then.`
  },
  refusals: [
    {
      reason: 'embargoed',
      message: `${did} is embargoed until 2030-01-01 (the embargo is set on cta:CTA_LST1_DL3_2024): the data lake refuses to make it available before then.`
    }
  ]
};

const QUOTA: Partial<IRulePreview> = {
  outcome: 'refused',
  quota: {
    needed_bytes: 198144,
    fits: false,
    rses: [
      {
        rse: 'ESCAPE-CHEAP',
        used_bytes: 20000,
        limit_bytes: 100000,
        unlimited: false,
        needed_bytes: 198144,
        fits: false
      }
    ],
    message: 'Quota exceeded: …'
  },
  refusals: [{ reason: 'quota_exceeded', message: 'Quota exceeded: …' }]
};

afterEach(() => cleanup());

describe('MakeAvailableForm with what the server found', () => {
  let lake: FakeLake;
  let preview: RulePreviewModel;

  beforeEach(() => {
    lake = new FakeLake();
    preview = new RulePreviewModel({
      api: new DataLakeAPI(lake.settings),
      instance: INSTANCE,
      did
    });
  });

  afterEach(() => preview.dispose());

  /** The form for `targetId`, re-rendered as the preview changes. */
  async function renderForm(targetId: string): Promise<HTMLElement> {
    preview.ask({ target: targetId, lifetimeDays: 7 });
    const node = await render(
      <UseSignal signal={preview.changed}>
        {() => (
          <MakeAvailableForm
            item={item}
            targets={TARGETS}
            value={{ targetId, lifetimeDays: 7 }}
            onChange={() => undefined}
            trans={trans}
            preview={preview}
          />
        )}
      </UseSignal>
    );
    return node;
  }

  it('says it is checking, then gives the exact volume from the server', async () => {
    lake.states.set(
      did,
      availability(did, 'PARTIAL', { total: 3, at_notebook: 1 }, 198144)
    );
    let answer: () => void = () => undefined;
    lake.overrides.set(
      'GET rules/preview',
      () =>
        new Promise<Response>(resolve => {
          answer = () =>
            resolve(jsonResponse(lake.preview(did, 'notebook', 7)));
        })
    );
    const node = await renderForm('notebook');
    expect(node.textContent).toContain(
      'Checking the quota, embargoes and storage…'
    );
    // Meanwhile, the estimate from what the panel knows.
    expect(within(node).getByRole('status').textContent).toBe(
      '198 kB (3 files) will be copied to Notebook-local storage.'
    );
    await until(() => lake.count('GET rules/preview') === 1, 'the question');
    answer();
    await waitFor(() =>
      expect(node.textContent).not.toContain('Checking the quota')
    );
    expect(within(node).getByRole('status').textContent).toBe(
      '132 kB (2 files) will be copied to Notebook-local storage.'
    );
    expect(within(node).queryByRole('alert')).toBeNull();
  });

  it('shows an embargo before the click, with its end and where it is set', async () => {
    lake.previews.set(did, EMBARGO);
    const node = await renderForm('notebook');
    const alert = await waitFor(() =>
      within(node).getByRole('alert', { name: 'Embargoed' })
    );
    expect(alert.textContent).toContain('Embargoed until January 1, 2030');
    expect(alert.textContent).toContain(
      'the embargo is set on cta:CTA_LST1_DL3_2024'
    );
  });

  it('shows the quota used, its limit and what is needed, in bytes a person reads', async () => {
    lake.previews.set(did, QUOTA);
    const node = await renderForm('CHEAP');
    const alert = await waitFor(() =>
      within(node).getByRole('alert', { name: 'Quota exceeded' })
    );
    expect(alert.textContent).toContain('Quota exceeded: this needs 198 kB');
    const table = within(alert).getByRole('table', { name: 'Your quota' });
    const row = within(table).getByRole('row', { name: /ESCAPE-CHEAP/ });
    expect(
      within(row)
        .getAllByRole('cell')
        .map(cell => cell.textContent)
    ).toEqual(['20.0 kB', '100 kB', '198 kB']);
    expect(alert.textContent).toContain('choose another target');
  });

  it('says when no storage offers the QoS class', async () => {
    const message =
      "No storage (RSE) offers QoS class SAFE: nothing matches 'QOS=SAFE'. Choose another target, or ask the data lake's administrators.";
    lake.previews.set(did, {
      outcome: 'refused',
      rses: [],
      refusals: [{ reason: 'no_matching_rse', message }]
    });
    const node = await renderForm('SAFE');
    const alert = await waitFor(() =>
      within(node).getByRole('alert', { name: 'No storage for this target' })
    );
    expect(alert.textContent).toBe(message);
  });

  it.each<[IRulePreview['outcome'], string | null, RegExp]>([
    ['exists', null, /asking again keeps it as it is\.$/],
    ['extend', null, /Asking again extends it to 7 days from now\.$/],
    [
      'keep',
      'This data lake does not let users extend rules; the rule ends on 2026-11-30 12:00 UTC.',
      /does not let users extend rules; the rule ends on 2026-11-30 12:00 UTC\. Asking again keeps the rule as it is\.$/
    ]
  ])(
    'tells of the rule the user has already (%s), and what asking again does',
    async (outcome, note, again) => {
      lake.previews.set(did, {
        outcome,
        note,
        rule: rule({
          did,
          rse_expression: 'NOTEBOOK-LOCAL',
          state: 'OK',
          expires_at: '2026-11-30T12:00:00+00:00'
        })
      });
      const node = await renderForm('notebook');
      const existing = await waitFor(() => within(node).getByRole('note'));
      expect(existing.textContent).toMatch(
        /^You have a rule for this at NOTEBOOK-LOCAL already \(OK, it expires .*2026.*\)\./
      );
      expect(existing.textContent).toMatch(again);
    }
  );

  it('shows why the preview itself failed, and that asking still works', async () => {
    lake.overrides.set('GET rules/preview', () =>
      jsonResponse(
        {
          message: 'Rucio at http://127.0.0.1:18080 is not answering.',
          reason: 'service_not_answering',
          service: 'Rucio'
        },
        504
      )
    );
    const node = await renderForm('notebook');
    const alert = await waitFor(() =>
      within(node).getByRole('alert', { name: 'Could not check' })
    );
    expect(alert.textContent).toContain(
      'Could not check beforehand what Rucio would do: Rucio at http://127.0.0.1:18080 is not answering.'
    );
    expect(alert.textContent).toContain('You can still ask: Rucio decides.');
    // The local estimate stays.
    expect(within(node).getByRole('status').textContent).toBe(
      '198 kB (3 files) will be copied to Notebook-local storage.'
    );
  });
});

describe('the make-available dialog', () => {
  let lake: FakeLake;
  let model: DataLakeModel;
  let actions: DataLakeActions;

  beforeEach(async () => {
    lake = new FakeLake();
    model = new DataLakeModel({
      frontendVersion: '0.1.0',
      serverSettings: lake.settings
    });
    model.panelVisible = true;
    await model.refresh();
    actions = new DataLakeActions({
      model,
      trans,
      openFolder: jest.fn(async () => undefined),
      openSettings: jest.fn(),
      copy: jest.fn()
    });
  });

  afterEach(() => {
    Dialog.flush();
    model.dispose();
    Notification.dismiss();
  });

  /** The dialog, once its body is rendered. */
  async function shown(): Promise<HTMLElement> {
    const node = await dialog();
    await waitFor(() => expect(node.querySelector('select')).toBeTruthy());
    return node;
  }

  /** An alert in the dialog, by its name (a closed <dialog> hides roles from queries). */
  function alertNamed(node: HTMLElement, name: string): HTMLElement {
    const found = node.querySelector<HTMLElement>(
      `[role="alert"][aria-label="${name}"]`
    );
    if (!found) {
      throw new Error(`no alert "${name}"`);
    }
    return found;
  }

  function acceptButton(node: HTMLElement): HTMLButtonElement {
    return node.querySelector<HTMLButtonElement>(
      '.jp-Dialog-button.jp-mod-accept'
    )!;
  }

  it('asks what would happen when it opens and at each new target', async () => {
    const done = actions.makeAvailable(item);
    const node = await shown();
    await until(() => lake.count('GET rules/preview') === 1, 'the preview');
    fireEvent.change(node.querySelector('select')!, {
      target: { value: 'SAFE' }
    });
    await until(() => lake.count('GET rules/preview') === 2, 'the new one');
    expect(
      lake.queries('GET rules/preview').map(query => query.get('target'))
    ).toEqual(['notebook', 'SAFE']);
    await waitFor(() =>
      expect(node.textContent).toContain(
        '198 kB (3 files) will be copied to QoS class SAFE.'
      )
    );
    fireEvent.click(acceptButton(node));
    await done;
    expect(await lake.bodies('POST rules')).toEqual([
      { did, target: 'SAFE', lifetime_days: 7 }
    ]);
  });

  it('turns "Make available" off when Rucio would surely refuse, and on for a target it would not', async () => {
    // Refused at the notebook (embargo), not at SAFE.
    lake.overrides.set('GET rules/preview', (_, url) => {
      const target = url.searchParams.get('target')!;
      const answer = lake.preview(did, target, 7);
      return jsonResponse(
        target === 'notebook' ? { ...answer, ...EMBARGO } : answer
      );
    });
    const done = actions.makeAvailable(item);
    const node = await shown();
    await waitFor(() => alertNamed(node, 'Embargoed'));
    const accept = acceptButton(node);
    await waitFor(() => expect(accept.disabled).toBe(true));
    expect(accept.textContent).toBe('Cannot make available');

    // Neither a click nor Enter asks for the rule; Cancel still closes.
    fireEvent.click(accept);
    fireEvent.keyDown(node, { key: 'Enter' });
    expect(document.body.querySelector('.jp-Dialog')).not.toBeNull();

    fireEvent.change(node.querySelector('select')!, {
      target: { value: 'SAFE' }
    });
    await waitFor(() => expect(accept.disabled).toBe(false));
    expect(accept.textContent).toBe('Make available');
    await waitFor(() =>
      expect(node.querySelector('[role="alert"]')).toBeNull()
    );

    fireEvent.change(node.querySelector('select')!, {
      target: { value: 'notebook' }
    });
    await waitFor(() => expect(accept.disabled).toBe(true));
    const cancel = [
      ...node.querySelectorAll<HTMLButtonElement>('.jp-Dialog-button')
    ].find(button => button.textContent === 'Cancel')!;
    fireEvent.click(cancel);
    await done;
    expect(lake.count('POST rules')).toBe(0);
  });

  it('keeps "Make available" on while checking and when the check fails', async () => {
    lake.overrides.set('GET rules/preview', () =>
      jsonResponse(
        {
          message:
            'Your sign-in has expired and cannot be renewed: the token issuer is not answering. Try again once it answers.',
          reason: 'service_not_answering',
          service: 'token issuer'
        },
        503
      )
    );
    const done = actions.makeAvailable(item);
    const node = await shown();
    const accept = acceptButton(node);
    expect(accept.disabled).toBe(false);
    await waitFor(() => alertNamed(node, 'Could not check'));
    expect(node.textContent).toContain('the token issuer is not answering');
    expect(accept.disabled).toBe(false);
    fireEvent.click(accept);
    await done;
    expect(lake.count('POST rules')).toBe(1);
  });
});
