/** The details view of a DID against a fake lake: files, rules, actions. */
import { fireEvent, waitFor, within } from '@testing-library/dom';
import React from 'react';

import { DetailsView } from '../../components/DetailsView';
import { DataLakeModel } from '../../models/datalake';
import { availability, FakeLake, INSTANCE, rule } from '../fakeLake';
import { fakeActions, render, trans } from '../testUtils';
import { live as liveOf, panelModelForEachTest } from './panelModel';

let lake: FakeLake;
let model: DataLakeModel;
panelModelForEachTest(made => ({ lake, model } = made));

/** A component re-rendering `element` at every change of the model. */
const live = (element: () => JSX.Element) => liveOf(model, element);

describe('details view', () => {
  const did = 'lofar:L2023_712342_HBA';
  const now = Date.parse('2026-11-23T12:00:00Z');

  beforeEach(async () => {
    lake.states.set(
      did,
      availability(did, 'PARTIAL', { total: 3, at_notebook: 1 })
    );
    lake.rules.set(did, [
      rule({
        id: 'b'.repeat(32),
        did,
        account: 'root',
        rse_expression: 'ESCAPE-SAFE',
        state: 'OK',
        locks: { ok: 3, replicating: 0, stuck: 0 },
        expires_at: null,
        towards_notebook: false
      }),
      rule({
        id: 'a'.repeat(32),
        did,
        account: 'alice',
        rse_expression: 'NOTEBOOK-LOCAL',
        state: 'STUCK',
        locks: { ok: 1, replicating: 1, stuck: 1 },
        expires_at: '2026-11-30T12:00:00',
        error: 'Transfer failed: checksum mismatch'
      })
    ]);
    lake.files.set(did, [
      {
        did: 'lofar:L712342_SB_000_uv.MS.tar',
        name: 'L712342_SB_000_uv.MS.tar',
        bytes: 8192,
        state: 'AVAILABLE',
        reason: null,
        replicas: [
          { rse: 'ESCAPE-SAFE', state: 'AVAILABLE', qos_class: 'SAFE' },
          { rse: 'NOTEBOOK-LOCAL', state: 'AVAILABLE', qos_class: 'FAST' }
        ],
        local_path:
          '/lake/rses/notebook-local/lofar/aa/bb/L712342_SB_000_uv.MS.tar'
      },
      {
        did: 'lofar:L712342_SB_001_uv.MS.tar',
        name: 'L712342_SB_001_uv.MS.tar',
        bytes: 8704,
        state: 'STUCK',
        reason: 'Transfer failed: checksum mismatch',
        replicas: [
          { rse: 'ESCAPE-SAFE', state: 'AVAILABLE', qos_class: 'SAFE' },
          { rse: 'NOTEBOOK-LOCAL', state: 'COPYING', qos_class: 'FAST' }
        ],
        local_path: null
      }
    ]);
    await model.openDetails(did);
  });

  /** The details view of `did`, re-rendered as the model changes. */
  const renderDetails = (actions: ReturnType<typeof fakeActions>) =>
    render(
      live(() => (
        <DetailsView model={model} actions={actions} trans={trans} now={now} />
      ))
    );

  it('shows the whole name and DID, never cut; the DID on hover of the title', async () => {
    const node = await renderDetails(fakeActions());
    const heading = within(node).getByRole('heading', {
      name: 'L2023_712342_HBA'
    });
    expect(heading.getAttribute('title')).toBe(did);
    expect(node.querySelector('.jp-DLaaS-didLine')?.textContent).toBe(did);
  });

  it('shows metadata with the DOI as a link', async () => {
    const node = await renderDetails(fakeActions());
    const table = within(node).getByRole('table', { name: 'Metadata' });
    const link = within(table).getByRole('link', {
      name: '10.5072/escape.lofar.712342'
    }) as HTMLAnchorElement;
    expect(link.href).toBe('https://doi.org/10.5072/escape.lofar.712342');
    expect(link.rel).toContain('noopener');
    expect(
      within(table).getByRole('rowheader', { name: 'energy' })
        .nextElementSibling?.textContent
    ).toBe('150');
  });

  it('shows the rules with progress, Rucio reasons and expiry; the user may extend or cancel only theirs', async () => {
    const actions = fakeActions();
    const node = await renderDetails(actions);
    const rules = within(node).getByRole('list', { name: 'Rules (2)' });
    const items = within(rules).getAllByRole('listitem');
    // The user's rule first.
    expect(items[0].getAttribute('aria-label')).toBe(
      'Rule at NOTEBOOK-LOCAL, STUCK'
    );
    const bar = within(items[0]).getByRole('progressbar');
    expect(bar.getAttribute('aria-valuetext')).toBe(
      '1 OK, 1 replicating, 1 stuck'
    );
    expect(bar.getAttribute('aria-valuemax')).toBe('3');
    expect(items[0].textContent).toContain(
      'Rucio says: Transfer failed: checksum mismatch'
    );
    expect(items[0].textContent).toContain('Your rule');
    expect(items[0].textContent).toContain('expires in 7 days');
    expect(items[1].textContent).toContain('Account root');
    expect(items[1].textContent).toContain('never expires');
    expect(within(items[1]).queryByRole('button')).toBeNull();

    fireEvent.click(
      within(items[0]).getByRole('button', {
        name: 'Extend the rule at NOTEBOOK-LOCAL'
      })
    );
    fireEvent.click(
      within(items[0]).getByRole('button', {
        name: 'Cancel the rule at NOTEBOOK-LOCAL'
      })
    );
    expect(actions.extendRule).toHaveBeenCalledWith(
      expect.objectContaining({ id: 'a'.repeat(32) })
    );
    expect(actions.cancelRule).toHaveBeenCalledWith(
      expect.objectContaining({ id: 'a'.repeat(32) })
    );
  });

  it('shows the files with their replicas per RSE and QoS class, and their paths', async () => {
    const actions = fakeActions();
    const node = await renderDetails(actions);
    const files = within(node).getByRole('list', {
      name: 'Files (2 of 3 shown)'
    });
    const [first, second] = within(files).getAllByRole('listitem', {
      name: /^lofar:L712342/
    });
    expect(
      within(first).getByRole('list', {
        name: 'Replicas of L712342_SB_000_uv.MS.tar'
      }).textContent
    ).toBe('ESCAPE-SAFESAFENOTEBOOK-LOCALFAST');
    expect(first.textContent).toContain('at the notebook');
    expect(second.textContent).toContain('stuck');
    expect(second.textContent).toContain('copying');
    expect(second.textContent).toContain(
      'Rucio says: Transfer failed: checksum mismatch'
    );

    fireEvent.click(
      within(first).getByRole('button', {
        name: 'Copy the path of L712342_SB_000_uv.MS.tar'
      })
    );
    // The link in the dataset's folder, asked for at the click; the file's own path if none.
    expect(actions.copyFilePath).toHaveBeenCalledWith(
      did,
      'lofar:L712342_SB_000_uv.MS.tar',
      '/lake/rses/notebook-local/lofar/aa/bb/L712342_SB_000_uv.MS.tar'
    );
    expect(actions.copyPath).not.toHaveBeenCalled();
    expect(within(second).queryByRole('button')).toBeNull();
  });

  it('offers the actions on the data, the local ones once some files are here', async () => {
    const actions = fakeActions();
    const node = await renderDetails(actions);
    const toolbar = within(node).getByRole('toolbar', {
      name: `Actions on ${did}`
    });
    for (const name of [
      'Open in file browser',
      'Copy path',
      'Insert paths in notebook'
    ]) {
      fireEvent.click(within(toolbar).getByRole('button', { name }));
    }
    expect(actions.openInFileBrowser).toHaveBeenCalledWith(did);
    expect(actions.copyPaths).toHaveBeenCalledWith(did);
    expect(actions.insertSnippet).toHaveBeenCalledWith(did);
    fireEvent.click(
      within(toolbar).getByRole('button', { name: 'Make available…' })
    );
    expect(actions.makeAvailable).toHaveBeenCalledWith(
      expect.objectContaining({ did, bytes: 26112, length: 3 })
    );
    fireEvent.click(within(toolbar).getByRole('button', { name: 'Watch' }));
    await waitFor(() => expect(model.watch.has(INSTANCE, did)).toBe(true));

    fireEvent.click(
      within(node).getByRole('button', { name: 'Back to the list' })
    );
    expect(model.detailsOpen).toBe(false);
  });

  it('disables the local actions while nothing is at the notebook', async () => {
    lake.states.set(did, availability(did, 'NOT_AVAILABLE'));
    await model.details.refresh();
    const node = await renderDetails(fakeActions());
    for (const name of [
      'Open in file browser',
      'Copy path',
      'Insert paths in notebook'
    ]) {
      expect(
        (within(node).getByRole('button', { name }) as HTMLButtonElement)
          .disabled
      ).toBe(true);
    }
  });
});
