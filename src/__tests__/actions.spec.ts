import { Dialog, Notification } from '@jupyterlab/apputils';
import { fireEvent, waitFor } from '@testing-library/dom';

import { DataLakeActions, INotebookTarget } from '../actions';
import { DataLakeModel } from '../models/datalake';
import {
  availability,
  errorResponse,
  FakeLake,
  INSTANCE,
  rule,
  TARGETS
} from './fakeLake';
import { until } from './async';
import { dialog, pressDialogButton, trans } from './testUtils';

describe('DataLakeActions', () => {
  const did = 'ska:AA05_quicklook_0001';
  const fileDid = 'ska:AA05_quicklook_0001.fits';
  // The DID's own folder under Jupyter's root, with a link per file ...
  const folder = '/home/jovyan/data-lake/ska/AA05_quicklook_0001';
  const file = `${folder}/AA05_quicklook_0001.fits`;
  // ... to the replica in Rucio's hashed layout.
  const replica =
    '/lake/rses/notebook-local/ska/64/25/AA05_quicklook_0001.fits';
  let lake: FakeLake;
  let model: DataLakeModel;
  let openFolder: jest.Mock;
  let copy: jest.Mock;
  let serverRoot: string;
  let notebook: INotebookTarget & { inserted: string[] };

  function createActions(withNotebook = true): DataLakeActions {
    return new DataLakeActions({
      model,
      trans,
      openFolder,
      notebook: withNotebook ? notebook : null,
      openSettings: jest.fn(),
      serverRoot: () => serverRoot,
      copy
    });
  }

  function messages(type: string): string[] {
    return Notification.manager.notifications
      .filter(one => one.type === type)
      .map(one => one.message);
  }

  beforeEach(async () => {
    lake = new FakeLake();
    lake.states.set(did, availability(did, 'AVAILABLE', { total: 1 }, 4096));
    lake.paths.set(did, { [fileDid]: file });
    lake.folders.set(did, { replica_paths: { [fileDid]: replica } });
    model = new DataLakeModel({
      frontendVersion: '0.1.0',
      serverSettings: lake.settings
    });
    model.panelVisible = true;
    await model.refresh();
    openFolder = jest.fn(async () => undefined);
    copy = jest.fn();
    serverRoot = '/home/jovyan';
    const inserted: string[] = [];
    notebook = {
      inserted,
      language: () => 'python',
      insertCodeBelow: source => {
        inserted.push(source);
        return true;
      }
    };
  });

  afterEach(() => {
    Dialog.flush();
    model.dispose();
    Notification.dismiss();
  });

  describe('make available', () => {
    const item = {
      did: 'lofar:L2023_712342_HBA',
      bytes: 26112,
      length: 3,
      availability: availability('lofar:L2023_712342_HBA', 'NOT_AVAILABLE')
    };

    it('confirms target, lifetime and volume in a dialog, then creates the rule', async () => {
      model.preferences = { ...model.preferences, defaultLifetimeDays: 3 };
      const done = createActions().makeAvailable(item);
      const node = await dialog();
      await waitFor(() =>
        expect(node.querySelector('.jp-Dialog-header')?.textContent).toBe(
          'Make available'
        )
      );
      await waitFor(() =>
        expect(node.textContent).toContain(
          '26.1 kB (3 files) will be copied to Notebook-local storage.'
        )
      );
      const lifetime = node.querySelector<HTMLInputElement>(
        'input[type="number"]'
      )!;
      expect(lifetime.value).toBe('3');
      fireEvent.change(node.querySelector('select')!, {
        target: { value: 'SAFE' }
      });
      await waitFor(() => expect(node.textContent).toContain('QoS class SAFE'));
      await pressDialogButton('Make available');
      await done;

      expect(await lake.bodies('POST rules')).toEqual([
        { did: item.did, target: 'SAFE', lifetime_days: 3 }
      ]);
      expect(model.transfers.transfers).toHaveLength(1);
    });

    it('does nothing when cancelled', async () => {
      const done = createActions().makeAvailable(item);
      await pressDialogButton('Cancel');
      await done;
      expect(lake.count('POST rules')).toBe(0);
    });
  });

  it("opens the DID's own folder in the file browser, as the server names it", async () => {
    await createActions().openInFileBrowser(did);
    expect(openFolder).toHaveBeenCalledWith(
      'data-lake/ska/AA05_quicklook_0001'
    );
    // The server's relative path is used as it is: the root need not be known here.
    serverRoot = '';
    await createActions().openInFileBrowser(did);
    expect(openFolder).toHaveBeenLastCalledWith(
      'data-lake/ska/AA05_quicklook_0001'
    );
    expect(messages('warning')).toEqual([]);
  });

  it('explains when the files are outside what the file browser shows', async () => {
    lake.paths.set(did, { [fileDid]: replica });
    lake.folders.set(did, {
      directory: '/lake/rses/notebook-local/ska/64/25',
      relative_directory: null
    });
    await createActions().openInFileBrowser(did);
    expect(openFolder).not.toHaveBeenCalled();
    expect(messages('warning')[0]).toBe(
      'The files of ska:AA05_quicklook_0001 are in /lake/rses/notebook-local/ska/64/25, outside the folder JupyterLab shows (/home/jovyan): the file browser cannot open it. Use "Copy path" or "Insert paths in notebook" instead.'
    );
  });

  it("copies the DID's folder", async () => {
    await createActions().copyPaths(did);
    expect(copy).toHaveBeenCalledWith(folder);
    expect(messages('info')).toEqual([`Copied ${folder}`]);
  });

  it('asks the server at every action: asking is what keeps the folder in line', async () => {
    const actions = createActions();
    // A transfer that ended with the paths of that moment ...
    const transfer = await model.makeAvailable({
      did,
      target: TARGETS[0],
      lifetimeDays: 1
    });
    await until(() => transfer.paths !== null, 'the paths of the transfer');
    const before = lake.count('GET did/paths');
    // ... is not where the actions take them from.
    await actions.openInFileBrowser(did);
    await actions.copyPaths(did);
    await actions.insertSnippet(did);
    await actions.copyFilePath(did, fileDid, replica);
    expect(lake.count('GET did/paths')).toBe(before + 4);
  });

  it('warns about what kept files out of the folder, and still gives the paths', async () => {
    const problem =
      "1 file(s) have no link in /home/jovyan/data-lake (a name that cannot be a file name here, or something else already has it); their paths are the replicas' own.";
    lake.folders.set(did, { folder_problem: problem });
    await createActions().copyPaths(did);
    expect(copy).toHaveBeenCalledWith(folder);
    const [warning] = Notification.manager.notifications.filter(
      one => one.type === 'warning'
    );
    expect(warning.message).toBe(`${did}: ${problem}`);
    // Longer than a notification shows: the whole text is one click away.
    expect(warning.options.actions!.map(action => action.label)).toEqual([
      'Show full message'
    ]);
    warning.options.actions![0].callback(new MouseEvent('click'));
    const node = await dialog();
    expect(node.textContent).toContain(problem);
  });

  it("copies a file's link in the DID's folder, else its own path", async () => {
    const actions = createActions();
    await actions.copyFilePath(did, fileDid, replica);
    expect(copy).toHaveBeenLastCalledWith(file);
    expect(lake.queries('GET did/paths').pop()?.get('did')).toBe(did);

    // No link for it (e.g. a name that cannot be a file name here).
    await actions.copyFilePath(
      did,
      'ska:other.fits',
      '/lake/rses/x/other.fits'
    );
    expect(copy).toHaveBeenLastCalledWith('/lake/rses/x/other.fits');

    // The folder cannot be asked about: the file's own path still opens it.
    lake.overrides.set('GET did/paths', () =>
      errorResponse(504, 'Rucio did not answer within 30 s', 'timeout')
    );
    await actions.copyFilePath(did, fileDid, replica);
    expect(copy).toHaveBeenLastCalledWith(replica);
  });

  it('says when no file is at the notebook yet', async () => {
    lake.paths.set(did, {});
    await createActions().copyPaths(did);
    expect(copy).not.toHaveBeenCalled();
    expect(messages('warning')).toEqual([
      'No file of ska:AA05_quicklook_0001 is at the notebook yet: make it available first.'
    ]);
  });

  it('inserts a cell defining the local paths into the active notebook', async () => {
    await createActions().insertSnippet(did);
    expect(notebook.inserted).toEqual([
      [
        '# Local paths of the files of ska:AA05_quicklook_0001 (escape-dlaas)',
        'paths = [',
        `    "${file}",`,
        ']'
      ].join('\n')
    ]);
  });

  it('asks for a notebook when there is none', async () => {
    const actions = createActions(false);
    expect(actions.canInsertSnippet).toBe(false);
    await actions.insertSnippet(did);
    expect(messages('warning')).toEqual([
      'Open a notebook first: the paths are inserted into the active notebook.'
    ]);
    expect(lake.count('GET did/paths')).toBe(0);
  });

  it('extends a rule by the number of days asked for', async () => {
    await model.openDetails(did);
    const done = createActions().extendRule(rule({ did }));
    const node = await dialog();
    fireEvent.change(node.querySelector('input')!, { target: { value: '21' } });
    (node.querySelector('input') as HTMLInputElement).value = '21';
    await pressDialogButton('Extend');
    await done;
    expect(await lake.bodies('PUT rules/{id}')).toEqual([
      { lifetime_days: 21 }
    ]);
    expect(messages('success')[0]).toBe(
      'The rule on ska:AA05_quicklook_0001 at NOTEBOOK-LOCAL now lasts 21 days from now.'
    );
  });

  it('cancels a rule only after confirmation, and reports refusals', async () => {
    const actions = createActions();
    let done = actions.cancelRule(rule({ did }));
    await pressDialogButton('Keep the rule');
    await done;
    expect(lake.count('DELETE rules/{id}')).toBe(0);

    done = actions.cancelRule(rule({ did }));
    const node = await dialog();
    expect(node.textContent).toContain(
      'Cancel your rule on ska:AA05_quicklook_0001 at NOTEBOOK-LOCAL?'
    );
    await pressDialogButton('Cancel rule');
    await done;
    expect(lake.count('DELETE rules/{id}')).toBe(1);
    expect(messages('success')).toEqual([
      'Your rule on ska:AA05_quicklook_0001 at NOTEBOOK-LOCAL is cancelled.'
    ]);
    expect(model.watch.has(INSTANCE, did)).toBe(false);
  });
});
