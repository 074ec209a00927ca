import { fireEvent, waitFor, within } from '@testing-library/dom';
import { Widget } from '@lumino/widgets';

import { DataLakePanel } from '../components/DataLakePanel';
import { IStatusResponse } from '../api/types';
import { DataLakeModel } from '../models/datalake';
import { PANEL_ID } from '../tokens';
import { FRONTEND_VERSION } from '../version';
import {
  FakeJupyterServer,
  jsonResponse,
  makeInstance,
  makeStatus,
  tornadoNotFound
} from './fakeServer';
import { fakeActions } from './testUtils';

describe('DataLakePanel', () => {
  let panel: DataLakePanel | null = null;
  let model: DataLakeModel | null = null;

  /** Attach a panel, on its Instances tab, on a model whose first status check is done. */
  async function showPanel(server: FakeJupyterServer): Promise<HTMLElement> {
    model = new DataLakeModel({
      frontendVersion: FRONTEND_VERSION,
      serverSettings: server.settings
    });
    await model.refresh();
    model.tab = 'instances';
    panel = new DataLakePanel({ model, actions: fakeActions() });
    Widget.attach(panel, document.body);
    // ReactWidget renders asynchronously.
    await waitFor(() =>
      within(panel!.node).getByRole('heading', { name: 'Data Lake' })
    );
    return panel.node;
  }

  afterEach(() => {
    panel?.dispose();
    model?.dispose();
    panel = null;
    model = null;
  });

  it('is a named region with an icon, for the sidebar and the layout restorer', async () => {
    const node = await showPanel(
      new FakeJupyterServer(() => jsonResponse(makeStatus()))
    );

    expect(node.id).toBe(PANEL_ID);
    expect(node.getAttribute('role')).toBe('region');
    expect(node.getAttribute('aria-label')).toBe('Data Lake');
    expect(panel!.title.caption).toBe('Data Lake');
    expect(panel!.title.icon).toBeDefined();
  });

  it('shows the extension version and a reachable instance with its Rucio version and latency', async () => {
    const node = await showPanel(
      new FakeJupyterServer(() => jsonResponse(makeStatus()))
    );

    expect(
      within(node).getByText(`escape-dlaas version ${FRONTEND_VERSION}`)
    ).toBeTruthy();
    const instance = within(node).getByRole('listitem', {
      name: 'Local data lake'
    });
    const text = instance.textContent ?? '';
    expect(text).toContain('http://127.0.0.1:18080');
    expect(text).toContain('Reachable');
    expect(text).toContain('41.5.1');
    expect(text).toContain('12 ms');
    expect(within(instance).getByText('default')).toBeTruthy();
    expect(within(node).queryByRole('alert')).toBeNull();
  });

  it('shows why an instance is not reachable', async () => {
    const status = makeStatus({
      instances: [
        makeInstance(),
        makeInstance({
          name: 'cern',
          display_name: 'CERN Rucio',
          rucio_url: 'https://rucio.example.org',
          reachable: false,
          rucio_version: null,
          latency_ms: null,
          error: 'Connection refused by rucio.example.org:443.'
        })
      ]
    });
    const node = await showPanel(
      new FakeJupyterServer(() => jsonResponse(status))
    );

    const items = within(node).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    const cern = within(node).getByRole('listitem', { name: 'CERN Rucio' });
    expect(cern.textContent).toContain('Not reachable');
    expect(cern.textContent).toContain(
      'Connection refused by rucio.example.org:443.'
    );
    expect(cern.textContent).not.toContain('Rucio version');
    // Only the administrator's default carries the badge.
    expect(within(cern).queryByText('default')).toBeNull();
  });

  it('explains a missing server extension instead of showing a blank panel', async () => {
    const node = await showPanel(
      new FakeJupyterServer(() => tornadoNotFound())
    );

    const alert = within(node).getByRole('alert', {
      name: 'Server extension missing'
    });
    expect(alert.textContent).toContain(
      'The escape-dlaas server extension is not installed or not enabled.'
    );
    expect(alert.textContent).toContain('jupyter server extension list');
    expect(within(node).queryByRole('list')).toBeNull();
  });

  it('warns when the server extension has another version', async () => {
    const node = await showPanel(
      new FakeJupyterServer(() =>
        jsonResponse(makeStatus({ version: '0.0.9' }))
      )
    );

    const alert = within(node).getByRole('alert', { name: 'Version mismatch' });
    expect(alert.textContent).toContain(FRONTEND_VERSION);
    expect(alert.textContent).toContain('0.0.9');
  });

  it("shows the administrator's configuration error", async () => {
    const node = await showPanel(
      new FakeJupyterServer(() =>
        jsonResponse(
          makeStatus({
            instances: [],
            configuration_error: {
              message: 'c.DLaaS.instances[0].rucio_url is missing.',
              reason: 'configuration'
            }
          })
        )
      )
    );

    const alert = within(node).getByRole('alert', {
      name: 'Configuration error'
    });
    expect(alert.textContent).toContain(
      'c.DLaaS.instances[0].rucio_url is missing.'
    );
    expect(node.textContent).not.toContain('No Rucio instance is configured');
  });

  it('shows the VO of an instance that sets one', async () => {
    const node = await showPanel(
      new FakeJupyterServer(() =>
        jsonResponse(
          makeStatus({ instances: [makeInstance({ vo: 'escape' })] })
        )
      )
    );

    const instance = within(node).getByRole('listitem', {
      name: 'Local data lake'
    });
    expect(within(instance).getByText('VO')).toBeTruthy();
    expect(within(instance).getByText('escape')).toBeTruthy();
  });

  it('says when no instance is configured', async () => {
    const node = await showPanel(
      new FakeJupyterServer(() =>
        jsonResponse(makeStatus({ instances: [], default_instance: null }))
      )
    );

    expect(
      within(node).getByText(/No Rucio instance is configured/)
    ).toBeTruthy();
  });

  it('shows that it is checking until the first answer arrives', async () => {
    const server = new FakeJupyterServer(
      () => new Promise<Response>(() => undefined)
    );
    model = new DataLakeModel({
      frontendVersion: FRONTEND_VERSION,
      serverSettings: server.settings
    });
    panel = new DataLakePanel({ model, actions: fakeActions() });
    Widget.attach(panel, document.body);

    const status = await waitFor(() => within(panel!.node).getByRole('status'));
    expect(status.textContent).toBe('Checking the Data Lake…');
  });

  it('refreshes from the server when the refresh button is pressed', async () => {
    const server = new FakeJupyterServer(() => jsonResponse(makeStatus()));
    const node = await showPanel(server);
    const requestsBefore = server.requests.length;
    const later: IStatusResponse = makeStatus({
      instances: [
        makeInstance({
          reachable: false,
          rucio_version: null,
          latency_ms: null,
          error: 'Timed out after 30 s.'
        })
      ]
    });
    server.handler = () => jsonResponse(later);

    fireEvent.click(
      within(node).getByRole('button', { name: 'Refresh Data Lake status' })
    );

    await waitFor(() =>
      expect(node.textContent).toContain('Timed out after 30 s.')
    );
    expect(server.requests.length).toBeGreaterThan(requestsBefore);
  });

  it('tells the model whether it is visible, so polling stands by when hidden', async () => {
    await showPanel(new FakeJupyterServer(() => jsonResponse(makeStatus())));
    expect(model!.panelVisible).toBe(true);

    panel!.hide();
    expect(model!.panelVisible).toBe(false);

    panel!.show();
    expect(model!.panelVisible).toBe(true);

    Widget.detach(panel!);
    expect(model!.panelVisible).toBe(false);
  });
});
