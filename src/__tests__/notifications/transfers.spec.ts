/** The notification of each "make available", its wording and its pace. */
import { Dialog, Notification } from '@jupyterlab/apputils';
import { waitFor } from '@testing-library/dom';
import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';

import { DataLakeRequestError } from '../../api/request';
import { DataLakeModel } from '../../models/datalake';
import { ITransfer, TransfersModel } from '../../models/transfers';
import {
  compactMessage,
  describeTransfer,
  NOTIFICATION_MAX_LENGTH,
  TransferNotifier
} from '../../notifications/transfers';
import { TRANSLATION_DOMAIN } from '../../tokens';
import {
  availability,
  errorResponse,
  FakeLake,
  rule,
  TARGETS
} from '../fakeLake';
import { dialog, fakeActions } from '../testUtils';

describe('TransferNotifier', () => {
  const trans = nullTranslator.load(TRANSLATION_DOMAIN);
  let lake: FakeLake;
  let model: DataLakeModel;
  let notifier: TransferNotifier;
  let actions: ReturnType<typeof fakeActions>;
  const showDetails = jest.fn();

  beforeEach(async () => {
    lake = new FakeLake();
    model = new DataLakeModel({
      frontendVersion: '0.1.0',
      serverSettings: lake.settings
    });
    await model.refresh();
    actions = fakeActions();
    // Immediate here; the pacing has its own test.
    notifier = new TransferNotifier({
      transfers: model.transfers,
      trans,
      actions,
      showDetails,
      emitDelay: 0,
      minUpdateInterval: 0
    });
  });

  afterEach(() => {
    notifier.dispose();
    model.dispose();
    Notification.dismiss();
    showDetails.mockReset();
  });

  function notificationOf(transfer: ITransfer) {
    const id = notifier.notificationId(transfer);
    return Notification.manager.notifications.find(one => one.id === id)!;
  }

  it('shows progress, then success with "Open in file browser" and "Copy path"', async () => {
    const did = 'ska:AA05_quicklook_0001';
    lake.states.set(did, availability(did, 'REPLICATING', { total: 1 }, 4096));
    lake.paths.set(did, {
      'ska:f.fits': '/lake/rses/notebook-local/ska/64/25/f.fits'
    });
    const transfer = await model.makeAvailable({
      did,
      target: TARGETS[0],
      lifetimeDays: 7
    });

    let notification = notificationOf(transfer);
    expect(notification.type).toBe('in-progress');
    expect(notification.message).toBe(
      'Copying ska:AA05_quicklook_0001 to Notebook-local storage: 0 of 1 files (0 B of 4.1 kB)'
    );
    // One notification per transfer, updated in place.
    expect(Notification.manager.count).toBe(1);

    lake.states.set(did, availability(did, 'AVAILABLE', { total: 1 }, 4096));
    await model.watch.refresh();
    await new Promise(resolve => setTimeout(resolve, 10));

    notification = notificationOf(transfer);
    expect(notification.type).toBe('success');
    expect(notification.message).toBe(
      'ska:AA05_quicklook_0001 is available at the notebook (1 file, 4.1 kB).'
    );
    const labels = notification.options.actions!.map(action => action.label);
    expect(labels).toEqual([
      'Open in file browser',
      'Copy path',
      'Show details'
    ]);

    const event = new MouseEvent('click');
    notification.options.actions![0].callback(event);
    expect(actions.openInFileBrowser).toHaveBeenCalledWith(did);
    // Copy path asks for the folder again (asking keeps it in line with Rucio).
    notification.options.actions![1].callback(event);
    expect(actions.copyPaths).toHaveBeenCalledWith(did);
    notification.options.actions![2].callback(event);
    expect(showDetails).toHaveBeenCalledWith('local-lake', did);
    expect(Notification.manager.count).toBe(1);
  });

  it.each([
    [
      403,
      'cta:LST1_run7801_DL3: Permission denied to make cta:LST1_run7801_DL3 available: Account alice can not add replication rule. embargoed until 2027-11-23',
      // The reason, last, must survive JupyterLab's cut at 140 characters.
      'Permission denied to make cta:LST1_run7801_DL3 available: Account alice can not add replication rule. embargoed until 2027-11-23'
    ],
    [
      422,
      'Cannot make cta:LST1_run7801_DL3 available: your storage quota is exceeded.',
      'Cannot make cta:LST1_run7801_DL3 available: your storage quota is exceeded.'
    ]
  ])(
    'turns a refusal (HTTP %p) into an error with the server reason',
    async (status, message, expected) => {
      lake.overrides.set('POST rules', () =>
        errorResponse(status, message, 'refused')
      );
      const transfer = await model.makeAvailable({
        did: 'cta:LST1_run7801_DL3',
        target: TARGETS[1],
        lifetimeDays: 7
      });
      const notification = notificationOf(transfer);
      expect(notification.type).toBe('error');
      expect(notification.message).toBe(expected);
      expect(notification.message.length).toBeLessThanOrEqual(
        NOTIFICATION_MAX_LENGTH
      );
      expect(notification.options.autoClose).toBe(false);
      expect(notification.options.actions!.map(action => action.label)).toEqual(
        ['Show details']
      );
    }
  );

  it('offers the full message when even the compact one is too long for a notification', async () => {
    const message = `Cannot make cta:x available: ${'your storage quota is exceeded. '.repeat(5)}`;
    lake.overrides.set('POST rules', () =>
      errorResponse(422, message, 'quota_exceeded')
    );
    const transfer = await model.makeAvailable({
      did: 'cta:x',
      target: TARGETS[1],
      lifetimeDays: 7
    });
    const notification = notificationOf(transfer);
    expect(notification.options.actions!.map(action => action.label)).toEqual([
      'Show full message',
      'Show details'
    ]);
    notification.options.actions![0].callback(new MouseEvent('click'));
    const node = await dialog();
    await waitFor(() => expect(node.textContent).toContain(message.trim()));
    Dialog.flush();
  });

  it("explains a stuck transfer with Rucio's reason", async () => {
    const did = 'ska:AA05_quicklook_0001';
    const transfer = await model.makeAvailable({
      did,
      target: TARGETS[0],
      lifetimeDays: 7
    });
    lake.states.set(
      did,
      availability(
        did,
        'STUCK',
        { total: 1 },
        4096,
        'Source replica ESCAPE-SAFE unreachable'
      )
    );
    await model.watch.refresh();
    const notification = notificationOf(transfer);
    expect(notification.type).toBe('error');
    expect(notification.message).toBe(
      'The copy of ska:AA05_quicklook_0001 to Notebook-local storage is stuck: Source replica ESCAPE-SAFE unreachable'
    );
  });

  it('says so when the rule existed already', () => {
    const transfer = {
      id: 1,
      instance: 'local-lake',
      did: 'a:b',
      target: TARGETS[2],
      lifetimeDays: 1,
      state: 'in-progress',
      rule: rule({
        rse_expression: 'QOS=SAFE',
        locks: { ok: 1, replicating: 2, stuck: 0 }
      }),
      created: false,
      towardsNotebook: false,
      availability: null,
      error: null,
      stuckReason: null,
      paths: null,
      since: 0
    } as ITransfer;
    expect(describeTransfer(transfer, trans).message).toBe(
      'Your rule exists already. Copying a:b to QoS class SAFE (QOS=SAFE): 1 of 3 files done'
    );
    expect(describeTransfer({ ...transfer, state: 'done' }, trans)).toEqual({
      message: 'a:b is stored at QoS class SAFE (QOS=SAFE).',
      type: 'success',
      autoClose: 30000
    });
  });
});

describe('compactMessage', () => {
  it('drops a leading DID only when the rest names it', () => {
    expect(
      compactMessage('a:b: Permission denied to make a:b available', 'a:b')
    ).toBe('Permission denied to make a:b available');
    expect(compactMessage('a:b: no such rule', 'a:b')).toBe(
      'a:b: no such rule'
    );
    expect(compactMessage('Quota exceeded', 'a:b')).toBe('Quota exceeded');
  });
});

describe('TransferNotifier pacing', () => {
  const trans = nullTranslator.load(TRANSLATION_DOMAIN);
  let changed: Signal<unknown, ITransfer>;
  let notifier: TransferNotifier;

  function transfer(
    state: ITransfer['state'],
    extra: Partial<ITransfer> = {}
  ): ITransfer {
    return {
      id: 7,
      instance: 'local-lake',
      did: 'a:b',
      target: TARGETS[0],
      lifetimeDays: 1,
      state,
      rule: null,
      created: true,
      towardsNotebook: true,
      availability: null,
      error: null,
      stuckReason: null,
      paths: null,
      since: 0,
      ...extra
    };
  }

  beforeEach(() => {
    jest.useFakeTimers();
    changed = new Signal<unknown, ITransfer>({});
    notifier = new TransferNotifier({
      transfers: { transferChanged: changed } as unknown as TransfersModel,
      trans,
      actions: fakeActions(),
      showDetails: jest.fn()
    });
    jest.spyOn(Notification, 'emit');
    jest.spyOn(Notification, 'update');
  });

  afterEach(() => {
    notifier.dispose();
    Notification.dismiss();
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('notifies a quick refusal once, as an error, never as an update', () => {
    const current = transfer('requesting');
    changed.emit(current);
    current.state = 'failed';
    current.error = new DataLakeRequestError(
      'Permission denied: embargoed until 2027-11-23',
      403,
      'permission_denied'
    );
    changed.emit(current);
    expect(Notification.emit).not.toHaveBeenCalled();

    jest.advanceTimersByTime(500);
    expect(Notification.emit).toHaveBeenCalledTimes(1);
    expect(Notification.emit).toHaveBeenCalledWith(
      'Permission denied: embargoed until 2027-11-23',
      'error',
      expect.objectContaining({ autoClose: false })
    );
    expect(Notification.update).not.toHaveBeenCalled();
  });

  it('spaces updates from the first notification, keeping the latest state', () => {
    const current = transfer('in-progress');
    changed.emit(current);
    jest.advanceTimersByTime(500);
    expect(Notification.emit).toHaveBeenCalledTimes(1);

    // Done 100 ms later: shown 1.5 s after the first notification, once.
    jest.advanceTimersByTime(100);
    current.availability = availability('a:b', 'REPLICATING', {
      total: 2,
      at_notebook: 1
    });
    changed.emit(current);
    current.state = 'done';
    current.availability = availability('a:b', 'AVAILABLE', { total: 2 });
    changed.emit(current);
    jest.advanceTimersByTime(1300);
    expect(Notification.update).not.toHaveBeenCalled();
    jest.advanceTimersByTime(100);
    expect(Notification.update).toHaveBeenCalledTimes(1);
    expect(Notification.update).toHaveBeenCalledWith(
      expect.objectContaining({
        type: 'success',
        message: 'a:b is available at the notebook (2 files, 26.1 kB).'
      })
    );

    // Later changes are shown at once.
    current.state = 'failed';
    current.stuckReason = 'gone';
    changed.emit(current);
    expect(Notification.update).toHaveBeenCalledTimes(2);
  });
});
