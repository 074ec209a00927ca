/** The Data Lake panel as a whole against a fake lake: identity, tabs. */
import { fireEvent, waitFor, within } from '@testing-library/dom';
import { Widget } from '@lumino/widgets';

import { DataLakePanel } from '../../components/DataLakePanel';
import { DataLakeModel } from '../../models/datalake';
import { availability, errorResponse, FakeLake, INSTANCE } from '../fakeLake';
import { fakeActions } from '../testUtils';
import { panelModelForEachTest } from './panelModel';

let lake: FakeLake;
let model: DataLakeModel;
panelModelForEachTest(made => ({ lake, model } = made));

describe('panel', () => {
  it('shows who is signed in, where, and for how long; the Search tab first', async () => {
    const panel = new DataLakePanel({ model, actions: fakeActions() });
    Widget.attach(panel, document.body);
    const node = panel.node;
    const signIn = await waitFor(() =>
      within(node).getByRole('status', { name: 'Sign-in' })
    );
    expect(signIn.textContent).toMatch(
      /^Signed in as alice · token valid for (59 min|1 h)$/
    );
    expect(signIn.getAttribute('title')).toContain(
      'token from file:/lake/tokens/alice.token'
    );
    expect(node.textContent).toContain('Local data lake');
    expect(
      within(node)
        .getByRole('tab', { name: 'Search' })
        .getAttribute('aria-selected')
    ).toBe('true');
    expect(within(node).getByRole('search')).toBeTruthy();

    fireEvent.click(within(node).getByRole('tab', { name: 'Instances' }));
    await waitFor(() =>
      within(node).getByRole('listitem', { name: 'Local data lake' })
    );
    panel.dispose();
  });

  it('explains missing credentials with the server message instead of an empty list', async () => {
    const message =
      'No token found: the file /lake/tokens/alice.token does not exist. Ask JupyterHub for a new one.';
    lake.overrides.set('GET whoami', () =>
      errorResponse(401, message, 'credentials_missing')
    );
    await model.identity.refresh();
    const panel = new DataLakePanel({ model, actions: fakeActions() });
    Widget.attach(panel, document.body);
    const alert = await waitFor(() =>
      within(panel.node).getByRole('alert', { name: 'Sign-in needed' })
    );
    expect(alert.textContent).toContain(
      'You are not signed in to Local data lake.'
    );
    expect(alert.textContent).toContain(message);

    lake.overrides.clear();
    fireEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    await waitFor(() =>
      within(panel.node).getByRole('status', { name: 'Sign-in' })
    );
    panel.dispose();
  });

  it('lists the watched data with their state under "My data"', async () => {
    lake.states.set(
      'ska:AA05_quicklook_0001',
      availability('ska:AA05_quicklook_0001', 'AVAILABLE', { total: 1 }, 4096)
    );
    model.watch.watch(INSTANCE, 'ska:AA05_quicklook_0001');
    await model.watch.refresh();
    const panel = new DataLakePanel({ model, actions: fakeActions() });
    Widget.attach(panel, document.body);
    fireEvent.click(
      await waitFor(() =>
        within(panel.node).getByRole('tab', { name: 'My data (1)' })
      )
    );
    const list = await waitFor(() =>
      within(panel.node).getByRole('list', { name: 'Watched data' })
    );
    const item = within(list).getByRole('listitem', {
      name: 'ska:AA05_quicklook_0001'
    });
    expect(within(item).getByRole('img').dataset.state).toBe('AVAILABLE');
    expect(
      item.querySelector('.jp-DLaaS-resultName')?.getAttribute('title')
    ).toBe('ska:AA05_quicklook_0001');
    fireEvent.click(
      within(item).getByRole('button', {
        name: 'Stop watching ska:AA05_quicklook_0001'
      })
    );
    await waitFor(() => expect(model.watch.entries).toHaveLength(0));
    panel.dispose();
  });
});
