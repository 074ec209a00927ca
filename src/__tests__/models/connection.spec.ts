import { DataLakeAPI } from '../../api/client';
import { DataLakeRequestError } from '../../api/request';
import {
  ConnectionModel,
  failingService,
  instanceHealth,
  sameRelease
} from '../../models/connection';
import { MAX_BACKOFF_MS } from '../../models/polling';
import {
  FakeJupyterServer,
  jsonResponse,
  makeInstance,
  makeStatus,
  tornadoNotFound
} from '../fakeServer';

const FRONTEND_VERSION = '0.1.0';

/** The status checks among the requests. */
function statusRequests(server: FakeJupyterServer): string[] {
  return server.requestedPaths.filter(path => path.endsWith('/status'));
}

function statusTimes(server: FakeJupyterServer): number[] {
  return server.requestTimes.filter((_, index) =>
    server.requestedPaths[index].endsWith('/status')
  );
}

describe('ConnectionModel', () => {
  let connection: ConnectionModel | null = null;
  let visible: boolean;

  function createConnection(
    server: FakeJupyterServer,
    pollInterval = 10
  ): ConnectionModel {
    return new ConnectionModel({
      api: new DataLakeAPI(server.settings),
      frontendVersion: FRONTEND_VERSION,
      pollInterval: () => pollInterval,
      isPanelVisible: () => visible
    });
  }

  beforeEach(() => {
    visible = false;
  });

  afterEach(() => {
    connection?.dispose();
    connection = null;
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  describe('status', () => {
    it('starts loading, then holds the status fetched from /escape-dlaas/status', async () => {
      const status = makeStatus();
      const server = new FakeJupyterServer(() => jsonResponse(status));
      connection = createConnection(server);
      const changes = jest.fn();
      connection.changed.connect(changes);

      expect(connection.state).toBe('loading');
      expect(connection.status).toBeNull();

      await connection.refresh();

      expect(connection.state).toBe('ready');
      expect(connection.status).toEqual(status);
      expect(connection.problem).toBeNull();
      expect(connection.lastChecked).toBeInstanceOf(Date);
      expect(connection.versionMismatch).toBe(false);
      expect(changes).toHaveBeenCalled();
      expect(server.requestedPaths).toEqual([
        '/user/alice/escape-dlaas/status'
      ]);
    });

    it('explains a missing server extension', async () => {
      const server = new FakeJupyterServer(() => tornadoNotFound());
      connection = createConnection(server);

      await connection.refresh();

      expect(connection.state).toBe('server-missing');
      expect(connection.problem).toBe(
        'The escape-dlaas server extension is not installed or not enabled.'
      );
      expect(connection.status).toBeNull();
    });

    it("reports the server's message on an error and keeps the last good status", async () => {
      const status = makeStatus();
      const server = new FakeJupyterServer(() => jsonResponse(status));
      connection = createConnection(server);
      await connection.refresh();
      const lastGoodCheck = connection.lastChecked;

      server.handler = () =>
        jsonResponse(
          {
            message:
              'The configuration of local-lake is invalid: rucio_url is missing.',
            reason: 'configuration'
          },
          500
        );
      await connection.refresh();

      expect(connection.state).toBe('error');
      expect(connection.problem).toBe(
        'The configuration of local-lake is invalid: rucio_url is missing.'
      );
      expect(connection.lastError?.status).toBe(500);
      expect(connection.lastError?.reason).toBe('configuration');
      expect(connection.status).toEqual(status);
      expect(connection.lastChecked).toBe(lastGoodCheck);

      server.handler = () => jsonResponse(status);
      await connection.refresh();

      expect(connection.state).toBe('ready');
      expect(connection.problem).toBeNull();
      expect(connection.lastError).toBeNull();
    });

    it('flags a server extension whose version differs from the frontend', async () => {
      const server = new FakeJupyterServer(() =>
        jsonResponse(makeStatus({ version: '0.2.0' }))
      );
      connection = createConnection(server);

      await connection.refresh();

      expect(connection.state).toBe('ready');
      expect(connection.versionMismatch).toBe(true);
      expect(connection.status?.version).toBe('0.2.0');
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

  describe('polling', () => {
    beforeEach(() => {
      jest.useFakeTimers();
    });

    it('refresh() checks even while the panel is hidden', async () => {
      const server = new FakeJupyterServer(() => jsonResponse(makeStatus()));
      connection = createConnection(server, 10);
      await jest.advanceTimersByTimeAsync(100);
      expect(statusRequests(server)).toHaveLength(1);

      const refreshed = connection.refresh();
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
      connection = createConnection(server, 10);
      visible = true;

      await jest.advanceTimersByTimeAsync(60 * 60 * 1000);

      expect(connection.state).toBe('error');
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

      expect(connection.state).toBe('ready');
      const recoveredTimes = statusTimes(server).slice(failedChecks);
      const recoveredGaps = recoveredTimes
        .slice(1)
        .map((time, index) => time - recoveredTimes[index]);
      expect(recoveredGaps.length).toBeGreaterThanOrEqual(2);
      recoveredGaps.forEach(gap => expect(gap).toBe(10_000));
    });

    it('tells after each successful check, with the status it replaced, and ends the check after it', async () => {
      const first = makeStatus();
      const server = new FakeJupyterServer(() => jsonResponse(first));
      const seen: (string | null)[] = [];
      let finish: () => void = () => undefined;
      connection = new ConnectionModel({
        api: new DataLakeAPI(server.settings),
        frontendVersion: FRONTEND_VERSION,
        pollInterval: () => 10,
        isPanelVisible: () => visible,
        afterCheck: previous => {
          seen.push(previous?.version ?? null);
          return new Promise<void>(resolve => (finish = resolve));
        }
      });
      let refreshed = false;
      void connection.refresh().then(() => (refreshed = true));
      await jest.advanceTimersByTimeAsync(100);
      expect(seen).toEqual([null]);
      expect(connection.state).toBe('ready');
      expect(refreshed).toBe(false);
      finish();
      await jest.advanceTimersByTimeAsync(0);
      expect(refreshed).toBe(true);

      server.handler = () => jsonResponse(makeStatus({ version: '0.2.0' }));
      const second = connection.refresh();
      await jest.advanceTimersByTimeAsync(100);
      finish();
      await second;
      expect(seen).toEqual([null, '0.1.0']);
      expect(connection.status?.version).toBe('0.2.0');
    });

    it('stands by while the panel is hidden and polls while it is visible', async () => {
      const server = new FakeJupyterServer(() => jsonResponse(makeStatus()));
      connection = createConnection(server, 10);
      await jest.advanceTimersByTimeAsync(60_000);
      // Only the check at start-up.
      expect(statusRequests(server)).toHaveLength(1);

      // Shown: the owner asks for a check, then one comes every interval.
      visible = true;
      const refreshed = connection.refresh();
      await jest.advanceTimersByTimeAsync(100);
      await refreshed;
      expect(statusRequests(server)).toHaveLength(2);
      await jest.advanceTimersByTimeAsync(20_000);
      expect(statusRequests(server)).toHaveLength(4);

      // Hidden again: standby.
      visible = false;
      await jest.advanceTimersByTimeAsync(60_000);
      expect(statusRequests(server)).toHaveLength(4);
    });
  });
});

describe('which service is down', () => {
  const error = (status: number, service?: string, reason = 'x') =>
    new DataLakeRequestError('down', status, reason, undefined, service);

  it('reads the service named by a 503/504 of the server', () => {
    expect(failingService(error(504, 'Rucio', 'service_not_answering'))).toBe(
      'rucio'
    );
    expect(
      failingService(error(503, 'Rucio', 'rucio_database_unavailable'))
    ).toBe('database');
    expect(failingService(error(503, 'token issuer'))).toBe('token-issuer');
    expect(failingService(error(503, 'JupyterHub'))).toBe('hub');
    expect(failingService(error(503, 'oidc-agent'))).toBe('token-source');
  });

  it('blames no service for expired credentials, unreadable answers, input errors or unnamed failures', () => {
    expect(failingService(error(401, 'token issuer'))).toBeNull();
    expect(failingService(error(403, 'Rucio'))).toBeNull();
    // Rucio answered, with something unreadable: not down.
    expect(failingService(error(502, 'Rucio', 'rucio_error'))).toBeNull();
    expect(failingService(error(503))).toBeNull();
    expect(failingService(null)).toBeNull();
  });

  it('tells Rucio down from its database down, from the status', () => {
    expect(instanceHealth(makeInstance({ database: 'ok' }))).toEqual({
      down: null,
      problem: null,
      database: 'ok'
    });
    const rucio = makeInstance({
      reachable: false,
      error: 'Rucio at http://x is not answering.'
    });
    expect(instanceHealth(rucio)).toEqual({
      down: 'rucio',
      problem: 'Rucio at http://x is not answering.',
      database: 'unknown'
    });
    const database = makeInstance({
      reachable: false,
      database: 'unavailable',
      error: 'Rucio at http://x answers, but cannot reach its database.'
    });
    expect(instanceHealth(database).down).toBe('database');
  });

  it('names the token issuer or the hub when the sign-in could not be checked', () => {
    const issuer = new DataLakeRequestError(
      'Your sign-in has expired and cannot be renewed: the token issuer is not answering.',
      503,
      'service_not_answering',
      undefined,
      'token issuer'
    );
    expect(instanceHealth(makeInstance(), issuer)).toEqual({
      down: 'token-issuer',
      problem: issuer.message,
      database: 'unknown'
    });
    expect(instanceHealth(makeInstance(), error(503, 'JupyterHub')).down).toBe(
      'hub'
    );
    // A Rucio failure of the sign-in check does not contradict a fresher status.
    expect(instanceHealth(makeInstance(), error(504, 'Rucio')).down).toBeNull();
    // Nor does a 401: the user signs in again.
    expect(
      instanceHealth(
        makeInstance(),
        error(401, undefined, 'credentials_expired')
      ).down
    ).toBeNull();
  });
});
