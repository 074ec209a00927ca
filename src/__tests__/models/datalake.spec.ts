import { DataLakeModel } from '../../models/datalake';
import { flush, until } from '../async';
import {
  availability,
  errorResponse,
  FakeLake,
  INSTANCE,
  TARGETS,
  whoami
} from '../fakeLake';
import {
  FakeJupyterServer,
  jsonResponse,
  makeInstance,
  makeStatus
} from '../fakeServer';

/** The status checks among the requests (whoami and pickers come along while visible). */
function statusRequests(server: FakeJupyterServer): string[] {
  return server.requestedPaths.filter(path => path.endsWith('/status'));
}

/**
 * The panel's model: how it composes the models of each concern (connection,
 * identity, catalogue, search, watch, details, transfers) and what it keeps
 * itself (instance, tab, preferences, persistence). Each concern has its own
 * spec beside this one.
 */
describe('DataLakeModel', () => {
  describe('on a Jupyter server', () => {
    let model: DataLakeModel | null = null;

    function createModel(
      server: FakeJupyterServer,
      pollInterval = 10
    ): DataLakeModel {
      return new DataLakeModel({
        frontendVersion: '0.1.0',
        serverSettings: server.settings,
        preferences: { pollInterval }
      });
    }

    afterEach(() => {
      model?.dispose();
      model = null;
      jest.useRealTimers();
      jest.restoreAllMocks();
    });

    it('shows the connection through IDataLakeModel', async () => {
      const server = new FakeJupyterServer(() =>
        jsonResponse(makeStatus({ version: '0.2.0' }))
      );
      model = createModel(server);
      const changes = jest.fn();
      model.changed.connect(changes);
      expect(model.connectionState).toBe('loading');

      await model.refresh();

      expect(changes).toHaveBeenCalled();
      expect(model.connectionState).toBe('ready');
      expect(model.status).toBe(model.connection.status);
      expect(model.status?.version).toBe('0.2.0');
      expect(model.problem).toBeNull();
      expect(model.lastChecked).toBe(model.connection.lastChecked);
      expect(model.versionMismatch).toBe(true);
      expect(model.instanceName).toBe('local-lake');
      expect(model.instance).toEqual(makeInstance());
    });

    describe('default instance', () => {
      const status = makeStatus({
        default_instance: 'cern',
        instances: [
          makeInstance({ name: 'local-lake' }),
          makeInstance({ name: 'cern', display_name: 'CERN' })
        ]
      });

      it("is the administrator's default when the user has no preference", async () => {
        model = createModel(new FakeJupyterServer(() => jsonResponse(status)));
        await model.refresh();

        expect(model.defaultInstanceName).toBe('cern');
      });

      it("is the user's preference when it names a configured instance", async () => {
        model = createModel(new FakeJupyterServer(() => jsonResponse(status)));
        await model.refresh();

        model.preferences = {
          ...model.preferences,
          defaultInstance: 'local-lake'
        };
        expect(model.defaultInstanceName).toBe('local-lake');

        model.preferences = { ...model.preferences, defaultInstance: 'gone' };
        expect(model.defaultInstanceName).toBe('cern');
      });

      it('is the first instance without any default, and null without instances', async () => {
        const server = new FakeJupyterServer(() =>
          jsonResponse({ ...status, default_instance: null })
        );
        model = createModel(server);
        await model.refresh();
        expect(model.defaultInstanceName).toBe('local-lake');

        server.handler = () => jsonResponse(makeStatus({ instances: [] }));
        await model.refresh();
        expect(model.defaultInstanceName).toBeNull();
      });
    });

    describe('polling', () => {
      beforeEach(() => {
        jest.useFakeTimers();
      });

      it('checks once at start-up, then only while the panel is visible', async () => {
        const server = new FakeJupyterServer(() => jsonResponse(makeStatus()));
        model = createModel(server, 10);
        const statusChecks = () =>
          server.requestedPaths.filter(path => path.endsWith('/status')).length;

        await jest.advanceTimersByTimeAsync(100);
        expect(server.requests).toHaveLength(1);
        expect(model.connectionState).toBe('ready');

        // Panel hidden: standby, and nobody to show the identity to.
        await jest.advanceTimersByTimeAsync(60_000);
        expect(server.requests).toHaveLength(1);

        // Showing the panel checks at once, then every poll interval.
        model.panelVisible = true;
        await jest.advanceTimersByTimeAsync(100);
        expect(statusChecks()).toBe(2);
        await jest.advanceTimersByTimeAsync(10_000);
        expect(statusChecks()).toBe(3);
        await jest.advanceTimersByTimeAsync(10_000);
        expect(statusChecks()).toBe(4);

        // Hidden again: no more requests of any kind.
        model.panelVisible = false;
        const requests = server.requests.length;
        await jest.advanceTimersByTimeAsync(60_000);
        expect(server.requests).toHaveLength(requests);

        // With each status check while visible comes the identity (one
        // request), and the pickers are loaded once.
        const paths = server.requestedPaths.map(path =>
          path.replace('/user/alice/escape-dlaas/', '')
        );
        expect(
          paths.filter(path => path === 'instances/local-lake/whoami')
        ).toHaveLength(3);
        expect(new Set(paths)).toEqual(
          new Set([
            'status',
            'instances/local-lake/whoami',
            'instances/local-lake/scopes',
            'instances/local-lake/rses',
            'instances/local-lake/metadata-keys'
          ])
        );
      });

      it('applies a new poll interval from the preferences', async () => {
        const server = new FakeJupyterServer(() => jsonResponse(makeStatus()));
        model = createModel(server, 10);
        model.panelVisible = true;
        await jest.advanceTimersByTimeAsync(100);
        expect(statusRequests(server)).toHaveLength(1);

        model.preferences = { ...model.preferences, pollInterval: 60 };
        // The tick already scheduled keeps its time; the next ones use 60 s.
        await jest.advanceTimersByTimeAsync(10_000);
        expect(statusRequests(server)).toHaveLength(2);
        await jest.advanceTimersByTimeAsync(30_000);
        expect(statusRequests(server)).toHaveLength(2);
        await jest.advanceTimersByTimeAsync(30_000);
        expect(statusRequests(server)).toHaveLength(3);
      });

      it('stops polling once disposed', async () => {
        const server = new FakeJupyterServer(() => jsonResponse(makeStatus()));
        model = createModel(server, 10);
        model.panelVisible = true;
        await jest.advanceTimersByTimeAsync(100);
        expect(statusRequests(server)).toHaveLength(1);

        model.dispose();
        await jest.advanceTimersByTimeAsync(60_000);

        expect(model.isDisposed).toBe(true);
        expect(statusRequests(server)).toHaveLength(1);
      });
    });
  });

  describe('with a lake', () => {
    let lake: FakeLake;
    let model: DataLakeModel;

    async function ready(): Promise<void> {
      model = new DataLakeModel({
        frontendVersion: '0.1.0',
        serverSettings: lake.settings,
        preferences: {
          pollInterval: 30,
          transferPollInterval: 5,
          searchPageSize: 2
        }
      });
      model.panelVisible = true;
      await model.refresh();
      await until(() => model.catalogue.targets !== null, 'the pickers');
    }

    beforeEach(async () => {
      lake = new FakeLake();
    });

    afterEach(() => {
      model?.dispose();
    });

    describe('identity', () => {
      it('knows who the user is and until when, with the pickers of the instance', async () => {
        await ready();
        expect(model.instanceName).toBe(INSTANCE);
        expect(model.identity.state).toBe('signed-in');
        expect(model.identity.whoami?.account).toBe('alice');
        expect(model.identity.whoami?.token.expires_in).toBe(3600);
        expect(model.identity.receivedAt).toBeLessThanOrEqual(Date.now());
        expect(model.catalogue.scopes).toEqual([
          'cta',
          'km3net',
          'lofar',
          'ska'
        ]);
        expect(model.catalogue.metadataKeys).toContain('energy');
        expect(model.catalogue.targets).toEqual(TARGETS);
        expect(model.catalogue.defaultTarget?.id).toBe('notebook');
        model.preferences = { ...model.preferences, defaultTarget: 'SAFE' };
        expect(model.catalogue.defaultTarget?.id).toBe('SAFE');
      });

      it('turns a 401 anywhere into "signed out" with the server message, and recovers', async () => {
        await ready();
        const message =
          'The token from file:/lake/tokens/alice.token expired 2 min ago. Ask JupyterHub for a new one (log out and in).';
        lake.overrides.set('GET search', () =>
          errorResponse(401, message, 'credentials_expired')
        );
        lake.overrides.set('GET whoami', () =>
          errorResponse(401, message, 'credentials_expired')
        );
        model.search.setPattern('*');
        await model.search.run();

        expect(model.identity.state).toBe('signed-out');
        expect(model.identity.error?.message).toBe(message);
        expect(model.search.error?.status).toBe(401);

        lake.overrides.clear();
        await model.identity.refresh();
        expect(model.identity.state).toBe('signed-in');
      });

      it('switches instance: new identity, no old results', async () => {
        lake.overrides.set('GET status', () =>
          jsonResponse(
            makeStatus({
              instances: [
                makeInstance(),
                makeInstance({ name: 'cern', display_name: 'CERN' })
              ]
            })
          )
        );
        await ready();
        model.search.setPattern('*');
        await model.search.run();
        expect(model.search.items.length).toBeGreaterThan(0);

        model.selectInstance('cern');
        expect(model.instanceName).toBe('cern');
        expect(model.search.items).toEqual([]);
        expect(model.identity.state).not.toBe('signed-in');
        expect(model.persistentState.instance).toBe('cern');
      });
    });

    describe('details', () => {
      const did = 'lofar:L2023_712342_HBA';

      it('opens the details view over the tabs, and closes it', async () => {
        await ready();
        await model.openDetails(did);
        expect(model.detailsOpen).toBe(true);
        expect(model.details.instance).toBe(INSTANCE);
        expect(model.details.details?.did).toBe(did);
        expect(model.persistentState.details).toEqual({
          instance: INSTANCE,
          did
        });

        model.closeDetails();
        expect(model.detailsOpen).toBe(false);
        expect(model.persistentState.details).toBeNull();
      });
      it('is fetched again when the watched availability of its DID changes, not polled', async () => {
        await ready();
        lake.states.set(did, availability(did, 'REPLICATING'));
        model.watch.watch(INSTANCE, did);
        await model.watch.refresh();
        await model.openDetails(did);
        const before = lake.count('GET did');

        await model.watch.refresh(); // no change: no details request
        await flush(10);
        expect(lake.count('GET did')).toBe(before);

        lake.states.set(did, availability(did, 'AVAILABLE'));
        await model.watch.refresh();
        await until(
          () => lake.count('GET did') === before + 1,
          'the details refresh'
        );
      });

      it('extends and cancels the rules of the user, then shows them again', async () => {
        await ready();
        await model.openDetails(did);
        await model.extendRule('a'.repeat(32), 14);
        expect(await lake.bodies('PUT rules/{id}')).toEqual([
          { lifetime_days: 14 }
        ]);
        await model.cancelRule('a'.repeat(32));
        expect(lake.count('DELETE rules/{id}')).toBe(1);
        expect(lake.count('GET did')).toBe(3);

        lake.overrides.set('DELETE rules/{id}', () =>
          errorResponse(
            403,
            'rule x belongs to account root, not to you (alice)',
            'not_your_rule'
          )
        );
        await expect(model.cancelRule('b'.repeat(32))).rejects.toThrow(
          'rule x belongs to account root, not to you (alice)'
        );
      });
    });

    describe('persistence', () => {
      it('gives back the watched DIDs, instance, tab, search form and open details', async () => {
        await ready();
        model.watch.watch(INSTANCE, 'lofar:a');
        model.tab = 'watched';
        model.search.setDraft({
          pattern: 'L2023*',
          type: 'dataset',
          filterText: 'energy>140'
        });
        await model.openDetails('lofar:L2023_712342_HBA');
        const saved = JSON.parse(JSON.stringify(model.persistentState));
        model.dispose();

        lake = new FakeLake();
        await ready();
        model.restoreState(saved);
        expect(model.watch.has(INSTANCE, 'lofar:a')).toBe(true);
        expect(model.tab).toBe('watched');
        expect(model.search.draft).toMatchObject({
          pattern: 'L2023*',
          type: 'dataset',
          filterText: 'energy>140'
        });
        expect(model.search.draft.filterRows[0][0]).toMatchObject({
          key: 'energy',
          op: '>'
        });
        expect(model.details.did).toBe('lofar:L2023_712342_HBA');

        // Nonsense is ignored, not fatal.
        model.restoreState({
          tab: 'nope',
          search: { type: 'bad', pattern: 3 }
        } as never);
        expect(model.tab).toBe('watched');
        expect(model.search.draft.type).toBe('dataset');
      });
    });

    it('refreshAll checks status, identity, watched data and open details at once', async () => {
      await ready();
      lake.whoami = whoami(120);
      model.watch.watch(INSTANCE, 'lofar:L2023_712342_HBA');
      await model.openDetails('lofar:L2023_712342_HBA');
      const before = lake.calls.length;
      await model.refreshAll();
      const calls = lake.calls.slice(before);
      expect(calls).toEqual(
        expect.arrayContaining([
          'GET status',
          'GET whoami',
          'POST availability',
          'GET did',
          'GET did/files'
        ])
      );
      expect(model.identity.whoami?.token.expires_in).toBe(120);
    });
  });
});
