import { DataLakeModel, MAX_BACKOFF_MS, sameRelease } from '../model';
import {
  FakeJupyterServer,
  jsonResponse,
  makeInstance,
  makeStatus,
  tornadoNotFound
} from './fakeServer';

const FRONTEND_VERSION = '0.1.0';

function createModel(
  server: FakeJupyterServer,
  pollInterval = 10
): DataLakeModel {
  return new DataLakeModel({
    frontendVersion: FRONTEND_VERSION,
    serverSettings: server.settings,
    preferences: { pollInterval }
  });
}

/** The status checks among the requests (whoami and pickers come along while visible). */
function statusRequests(server: FakeJupyterServer): string[] {
  return server.requestedPaths.filter(path => path.endsWith('/status'));
}

function statusTimes(server: FakeJupyterServer): number[] {
  return server.requestTimes.filter((_, index) =>
    server.requestedPaths[index].endsWith('/status')
  );
}

describe('DataLakeModel', () => {
  let model: DataLakeModel | null = null;

  afterEach(() => {
    model?.dispose();
    model = null;
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  describe('status', () => {
    it('starts loading, then holds the status fetched from /escape-dlaas/status', async () => {
      const status = makeStatus();
      const server = new FakeJupyterServer(() => jsonResponse(status));
      model = createModel(server);
      const changes = jest.fn();
      model.changed.connect(changes);

      expect(model.connectionState).toBe('loading');
      expect(model.status).toBeNull();

      await model.refresh();

      expect(model.connectionState).toBe('ready');
      expect(model.status).toEqual(status);
      expect(model.problem).toBeNull();
      expect(model.lastChecked).toBeInstanceOf(Date);
      expect(model.versionMismatch).toBe(false);
      expect(changes).toHaveBeenCalled();
      expect(server.requestedPaths).toEqual([
        '/user/alice/escape-dlaas/status'
      ]);
    });

    it('explains a missing server extension', async () => {
      const server = new FakeJupyterServer(() => tornadoNotFound());
      model = createModel(server);

      await model.refresh();

      expect(model.connectionState).toBe('server-missing');
      expect(model.problem).toBe(
        'The escape-dlaas server extension is not installed or not enabled.'
      );
      expect(model.status).toBeNull();
    });

    it("reports the server's message on an error and keeps the last good status", async () => {
      const status = makeStatus();
      const server = new FakeJupyterServer(() => jsonResponse(status));
      model = createModel(server);
      await model.refresh();
      const lastGoodCheck = model.lastChecked;

      server.handler = () =>
        jsonResponse(
          {
            message:
              'The configuration of local-lake is invalid: rucio_url is missing.',
            reason: 'configuration'
          },
          500
        );
      await model.refresh();

      expect(model.connectionState).toBe('error');
      expect(model.problem).toBe(
        'The configuration of local-lake is invalid: rucio_url is missing.'
      );
      expect(model.lastError?.status).toBe(500);
      expect(model.lastError?.reason).toBe('configuration');
      expect(model.status).toEqual(status);
      expect(model.lastChecked).toBe(lastGoodCheck);

      server.handler = () => jsonResponse(status);
      await model.refresh();

      expect(model.connectionState).toBe('ready');
      expect(model.problem).toBeNull();
      expect(model.lastError).toBeNull();
    });

    it('flags a server extension whose version differs from the frontend', async () => {
      const server = new FakeJupyterServer(() =>
        jsonResponse(makeStatus({ version: '0.2.0' }))
      );
      model = createModel(server);

      await model.refresh();

      expect(model.connectionState).toBe('ready');
      expect(model.versionMismatch).toBe(true);
      expect(model.status?.version).toBe('0.2.0');
    });
  });

  describe('sameRelease', () => {
    it.each([
      ['0.1.0', '0.1.0', true],
      ['0.1.0', '0.1.1', false],
      ['0.1.0', 'dev', false],
      ['1.0.0-alpha.1', '1.0.0a1', true],
      ['1.0.0-alpha.1', '1.0.0alpha1', true],
      ['1.0.0-dev.3', '1.0.0.dev3', true],
      ['1.0.0-beta.2', '1.0.0b2', true],
      ['1.0.0-rc.1', '1.0.0rc1', true],
      ['1.0.0-rc.1', '1.0.0rc2', false],
      ['1.0.0-beta.2', '1.0.0', false]
    ])('%s (npm) and %s (Python): %s', (npmVersion, pythonVersion, same) => {
      expect(sameRelease(npmVersion, pythonVersion)).toBe(same);
    });
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

    it('refresh() checks even while the panel is hidden', async () => {
      const server = new FakeJupyterServer(() => jsonResponse(makeStatus()));
      model = createModel(server, 10);
      await jest.advanceTimersByTimeAsync(100);
      expect(statusRequests(server)).toHaveLength(1);

      const refreshed = model.refresh();
      await jest.advanceTimersByTimeAsync(100);
      await refreshed;

      expect(statusRequests(server)).toHaveLength(2);
    });

    it('backs off while checks fail, up to the maximum, and resumes its pace on success', async () => {
      // Poll draws each wait at random in a range; fix the draw mid-range.
      jest.spyOn(Math, 'random').mockReturnValue(0.5);
      const server = new FakeJupyterServer(() =>
        jsonResponse({ message: 'Internal error', reason: 'internal' }, 500)
      );
      model = createModel(server, 10);
      model.panelVisible = true;

      await jest.advanceTimersByTimeAsync(60 * 60 * 1000);

      expect(model.connectionState).toBe('error');
      const gaps = statusTimes(server)
        .slice(1)
        .map((time, index) => time - statusTimes(server)[index]);
      // Without backoff an hour at 10 s would be 360 checks.
      expect(statusRequests(server).length).toBeLessThan(30);
      // Waits grow after each failure until they reach the maximum...
      const growing = gaps.slice(1, gaps.indexOf(MAX_BACKOFF_MS));
      expect(growing.length).toBeGreaterThan(2);
      growing.forEach((gap, index) => {
        expect(gap).toBeGreaterThan(index === 0 ? 0 : growing[index - 1]);
      });
      // ...and stay there.
      expect(Math.max(...gaps)).toBe(MAX_BACKOFF_MS);
      expect(gaps.slice(-3)).toEqual([
        MAX_BACKOFF_MS,
        MAX_BACKOFF_MS,
        MAX_BACKOFF_MS
      ]);

      // Recovery: the next check succeeds, then one check per interval again.
      server.handler = () => jsonResponse(makeStatus());
      const failedChecks = statusRequests(server).length;
      await jest.advanceTimersByTimeAsync(MAX_BACKOFF_MS + 3 * 10_000);

      expect(model.connectionState).toBe('ready');
      const recoveredTimes = statusTimes(server).slice(failedChecks);
      const recoveredGaps = recoveredTimes
        .slice(1)
        .map((time, index) => time - recoveredTimes[index]);
      expect(recoveredGaps.length).toBeGreaterThanOrEqual(2);
      recoveredGaps.forEach(gap => expect(gap).toBe(10_000));
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
