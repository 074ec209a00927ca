import { JupyterFrontEnd } from '@jupyterlab/application';
import { ISettingRegistry, SettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB, StateDB } from '@jupyterlab/statedb';
import { CommandRegistry } from '@lumino/commands';
import { JSONExt } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { dataLakePlugin as plugin } from '../index';
import { DataLakeModel } from '../models/datalake';
import {
  CommandIDs,
  DEFAULT_PREFERENCES,
  IDataLakePreferences,
  PANEL_ID,
  PLUGIN_ID,
  STATE_KEY
} from '../tokens';
import { FakeJupyterServer, jsonResponse, makeStatus } from './fakeServer';
import schema from '../../schema/plugin.json';

/** A setting registry serving our real schema, with the user's raw settings. */
function createSettingRegistry(raw = '{}'): SettingRegistry {
  const connector = {
    fetch: async (id: string): Promise<ISettingRegistry.IPlugin | undefined> =>
      id === PLUGIN_ID
        ? {
            id,
            raw,
            schema: schema as unknown as ISettingRegistry.ISchema,
            data: { composite: {}, user: {} },
            version: '0.1.0'
          }
        : undefined,
    list: async () => ({ ids: [PLUGIN_ID], values: [] }),
    save: async (_id: string, newRaw: string) => {
      raw = newRaw;
    },
    remove: async () => undefined
  };
  return new SettingRegistry({ connector });
}

describe('escape-dlaas plugin', () => {
  let server: FakeJupyterServer;
  let shell: { add: jest.Mock; activateById: jest.Mock };
  let app: JupyterFrontEnd;
  let model: DataLakeModel;

  function activate(
    settingRegistry: ISettingRegistry | null = null,
    stateDB: IStateDB | null = null
  ): void {
    model = plugin.activate(
      app,
      null,
      null,
      settingRegistry,
      null,
      stateDB,
      null,
      null
    ) as DataLakeModel;
  }

  beforeEach(() => {
    server = new FakeJupyterServer(() => jsonResponse(makeStatus()));
    shell = { add: jest.fn(), activateById: jest.fn() };
    app = {
      commands: new CommandRegistry(),
      shell,
      serviceManager: { serverSettings: server.settings }
    } as unknown as JupyterFrontEnd;
  });

  afterEach(() => {
    const panel = shell.add.mock.calls[0]?.[0] as Widget | undefined;
    panel?.dispose();
  });

  it('has an id in the package namespace and provides the model', () => {
    expect(plugin.id).toBe('escape-dlaas:plugin');
    expect(plugin.autoStart).toBe(true);
    activate();
    expect(model).toBeInstanceOf(DataLakeModel);
  });

  it('adds the Data Lake panel to the left sidebar', () => {
    activate();

    expect(shell.add).toHaveBeenCalledTimes(1);
    const [panel, area] = shell.add.mock.calls[0];
    expect(area).toBe('left');
    expect((panel as Widget).id).toBe(PANEL_ID);
  });

  it('registers labelled commands that open the panel and refresh the status', async () => {
    activate();

    expect(app.commands.label(CommandIDs.openPanel)).toBe(
      'Open Data Lake Panel'
    );
    expect(app.commands.label(CommandIDs.refresh)).toBe('Refresh Data Lake');

    await app.commands.execute(CommandIDs.openPanel);
    expect(shell.activateById).toHaveBeenCalledWith(PANEL_ID);

    const requestsBefore = server.requests.length;
    await app.commands.execute(CommandIDs.refresh);
    expect(server.requests.length).toBeGreaterThan(requestsBefore);
    expect(model.connectionState).toBe('ready');
  });

  it('declares in its schema the same defaults the model starts with', () => {
    const defaults = Object.fromEntries(
      Object.entries(schema.properties).map(([key, property]) => [
        key,
        property.default
      ])
    );
    expect(defaults).toEqual(DEFAULT_PREFERENCES);
  });

  it('applies the user settings, and their later changes, to the model', async () => {
    const registry = createSettingRegistry(
      '{"pollInterval": 120, "defaultTarget": "QOS=SAFE"}'
    );
    activate(registry);

    const expected: IDataLakePreferences = {
      ...DEFAULT_PREFERENCES,
      pollInterval: 120,
      defaultTarget: 'QOS=SAFE'
    };
    await waitForPreferences(model, expected);

    const settings = await registry.load(PLUGIN_ID);
    await settings.set('defaultLifetimeDays', 14);
    await waitForPreferences(model, { ...expected, defaultLifetimeDays: 14 });
  });

  it('offers search, make available, insert paths, refresh and settings as commands', async () => {
    activate();
    for (const [id, label] of [
      [CommandIDs.search, 'Search the Data Lake'],
      [CommandIDs.makeAvailable, 'Make Data Available…'],
      [CommandIDs.insertPaths, 'Insert Data Lake Paths in Notebook'],
      [CommandIDs.openSettings, 'Data Lake Settings'],
      [CommandIDs.showDetails, 'Show Data Lake Details']
    ]) {
      expect(app.commands.hasCommand(id)).toBe(true);
      expect(app.commands.label(id)).toBe(label);
    }
    expect(app.commands.label(CommandIDs.makeAvailable, { did: 'a:b' })).toBe(
      'Make a:b Available…'
    );
    // No notebook tracker: nothing to insert into.
    expect(app.commands.isEnabled(CommandIDs.insertPaths)).toBe(false);

    const openSettings = jest.fn();
    app.commands.addCommand('settingeditor:open', {
      execute: openSettings,
      describedBy: { args: { type: 'object', properties: {} } }
    });
    await app.commands.execute(CommandIDs.openSettings);
    expect(openSettings).toHaveBeenCalledWith({ query: 'Data Lake' });
  });

  it('runs a search given as command arguments', async () => {
    server.handler = request =>
      new URL(request.url).pathname.endsWith('/search')
        ? jsonResponse({ items: [], next_cursor: null })
        : jsonResponse(makeStatus());
    activate();
    await model.refresh();
    await app.commands.execute(CommandIDs.search, {
      pattern: 'L2023*',
      type: 'dataset',
      filter: 'telescope=lofar,energy>140'
    });
    expect(shell.activateById).toHaveBeenCalledWith(PANEL_ID);
    const search = server.requests.find(request =>
      new URL(request.url).pathname.endsWith('/search')
    )!;
    const query = new URL(search.url).searchParams;
    expect(query.get('q')).toBe('L2023*');
    expect(query.get('type')).toBe('dataset');
    expect(JSON.parse(query.get('filters')!)).toEqual([
      [
        { key: 'telescope', op: '=', value: 'lofar' },
        { key: 'energy', op: '>', value: 140 }
      ]
    ]);
  });

  it('restores the watched DIDs from the state database and saves changes', async () => {
    const stateDB = new StateDB();
    await stateDB.save(STATE_KEY, {
      instance: null,
      tab: 'watched',
      watched: {
        dids: [{ instance: 'local-lake', did: 'lofar:a', addedAt: 1 }]
      },
      search: { pattern: 'L2023*' },
      details: null
    });
    activate(null, stateDB);
    await waitFor(() => model.watch.has('local-lake', 'lofar:a'));
    expect(model.tab).toBe('watched');
    expect(model.search.draft.pattern).toBe('L2023*');

    model.watch.watch('local-lake', 'ska:b');
    await waitFor(async () => {
      const saved = (await stateDB.fetch(STATE_KEY)) as {
        watched: { dids: { did: string }[] };
      };
      return saved.watched.dids.some(item => item.did === 'ska:b');
    });
  });

  it('rejects settings outside the schema bounds', async () => {
    const registry = createSettingRegistry();
    const settings = await registry.load(PLUGIN_ID);

    await expect(settings.set('pollInterval', 1)).rejects.toBeTruthy();
  });
});

async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await check()) {
      return;
    }
    await new Promise(resolve => setTimeout(resolve, 20));
  }
  throw new Error('timed out');
}

async function waitForPreferences(
  model: DataLakeModel,
  expected: IDataLakePreferences
): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    if (JSONExt.deepEqual({ ...model.preferences }, { ...expected })) {
      break;
    }
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  expect(model.preferences).toEqual(expected);
}
