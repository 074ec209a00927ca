import { Notification } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';

import { DataLakeModel } from '../model';
import { ProblemNotifier } from '../notifications';
import { TRANSLATION_DOMAIN } from '../tokens';
import {
  FakeJupyterServer,
  jsonResponse,
  makeStatus,
  tornadoNotFound
} from './fakeServer';

describe('ProblemNotifier', () => {
  let model: DataLakeModel;
  let notifier: ProblemNotifier;
  const showPanel = jest.fn();

  function setUp(server: FakeJupyterServer): void {
    model = new DataLakeModel({
      frontendVersion: '0.1.0',
      serverSettings: server.settings
    });
    notifier = new ProblemNotifier({
      model,
      trans: nullTranslator.load(TRANSLATION_DOMAIN),
      showPanel
    });
  }

  afterEach(() => {
    notifier.dispose();
    model.dispose();
    Notification.dismiss();
    showPanel.mockReset();
  });

  it('notifies a failing check once, not at every poll, and dismisses it on recovery', async () => {
    const server = new FakeJupyterServer(() =>
      jsonResponse(
        { message: 'Rucio configuration is invalid.', reason: 'configuration' },
        500
      )
    );
    setUp(server);

    await model.refresh();
    await model.refresh();

    const errors = Notification.manager.notifications.filter(
      n => n.type === 'error'
    );
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toBe(
      'Could not get the Data Lake status: Rucio configuration is invalid.'
    );

    // Its action opens the panel.
    errors[0].options.actions?.[0].callback(new MouseEvent('click'));
    expect(showPanel).toHaveBeenCalledTimes(1);

    server.handler = () => jsonResponse(makeStatus());
    await model.refresh();

    expect(
      Notification.manager.notifications.filter(n => n.type === 'error')
    ).toHaveLength(0);
  });

  it('notifies a persisting problem again after forgetProblem (manual refresh)', async () => {
    setUp(new FakeJupyterServer(() => tornadoNotFound()));

    await model.refresh();
    notifier.forgetProblem();
    await model.refresh();

    // The first one is replaced, not piled up.
    const errors = Notification.manager.notifications.filter(
      n => n.type === 'error'
    );
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toBe(
      'The escape-dlaas server extension is not installed or not enabled.'
    );
    expect(errors[0].options.autoClose).toBe(false);
  });

  it('warns once about a version mismatch', async () => {
    setUp(
      new FakeJupyterServer(() =>
        jsonResponse(makeStatus({ version: '0.3.0' }))
      )
    );

    await model.refresh();
    await model.refresh();

    const warnings = Notification.manager.notifications.filter(
      n => n.type === 'warning'
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain(
      'this page runs 0.1.0, the server extension 0.3.0'
    );
  });
});
