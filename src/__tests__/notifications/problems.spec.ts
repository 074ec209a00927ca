/** The notifications of the panel's problems and of failed requests. */
import { Notification } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';

import { DataLakeModel } from '../../models/datalake';
import {
  ProblemNotifier,
  RequestErrorNotifier
} from '../../notifications/problems';
import { TRANSLATION_DOMAIN } from '../../tokens';
import { errorResponse, FakeLake } from '../fakeLake';
import {
  FakeJupyterServer,
  jsonResponse,
  makeStatus,
  tornadoNotFound
} from '../fakeServer';

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

describe('RequestErrorNotifier', () => {
  const trans = nullTranslator.load(TRANSLATION_DOMAIN);
  let lake: FakeLake;
  let model: DataLakeModel;
  let notifier: RequestErrorNotifier;

  beforeEach(async () => {
    lake = new FakeLake();
    model = new DataLakeModel({
      frontendVersion: '0.1.0',
      serverSettings: lake.settings
    });
    await model.refresh();
    notifier = new RequestErrorNotifier({ model, trans, showPanel: jest.fn() });
  });

  afterEach(() => {
    notifier.dispose();
    model.dispose();
    Notification.dismiss();
  });

  function errors(): string[] {
    return Notification.manager.notifications
      .filter(one => one.type === 'error')
      .map(one => one.message);
  }

  it('notifies server failures once with their message, input errors not at all', async () => {
    lake.overrides.set('GET search', () =>
      errorResponse(504, 'Rucio did not answer within 35 s.', 'service_timeout')
    );
    model.search.setPattern('*');
    await model.search.run();
    await model.search.run();
    expect(errors()).toEqual([
      'The search failed: Rucio did not answer within 35 s.'
    ]);

    lake.overrides.set('GET search', () =>
      errorResponse(
        400,
        'type a name pattern (e.g. *.fits) or add a metadata filter',
        'empty_search'
      )
    );
    await model.search.run();
    expect(errors()).toHaveLength(1);

    // After a success, the same failure is news again.
    lake.overrides.delete('GET search');
    await model.search.run();
    lake.overrides.set('GET search', () =>
      errorResponse(504, 'Rucio did not answer within 35 s.', 'service_timeout')
    );
    await model.search.run();
    expect(errors()).toHaveLength(2);
  });

  it('notifies a failing availability poll', async () => {
    lake.overrides.set('POST availability', () =>
      errorResponse(
        502,
        'Rucio at http://127.0.0.1:1 is unreachable.',
        'service_unavailable'
      )
    );
    model.watch.watch('local-lake', 'lofar:a');
    await model.watch.refresh();
    expect(errors()).toEqual([
      'Could not update the availability of your data: Rucio at http://127.0.0.1:1 is unreachable.'
    ]);
  });
});
