import { DataLakeAPI } from '../../api/client';
import { DataLakeRequestError } from '../../api/request';
import { IdentityModel } from '../../models/identity';
import { flush, until } from '../async';
import { errorResponse, FakeLake, INSTANCE, whoami } from '../fakeLake';
import { jsonResponse } from '../fakeServer';

describe('IdentityModel', () => {
  const expired =
    'The token from file:/lake/tokens/alice.token expired 2 min ago. Ask JupyterHub for a new one (log out and in).';
  let lake: FakeLake;
  let selected: string | null;
  let identity: IdentityModel;

  beforeEach(() => {
    lake = new FakeLake();
    selected = INSTANCE;
    identity = new IdentityModel({
      api: new DataLakeAPI(lake.settings),
      instance: () => selected
    });
  });

  afterEach(() => {
    identity.dispose();
  });

  it('knows who the user is at the selected instance, and since when', async () => {
    expect(identity.state).toBe('unknown');
    const states: string[] = [];
    identity.changed.connect(() => states.push(identity.state));

    await identity.refresh();

    expect(states).toEqual(['loading', 'signed-in']);
    expect(identity.whoami?.account).toBe('alice');
    expect(identity.whoami?.token.expires_in).toBe(3600);
    expect(identity.receivedAt).toBeLessThanOrEqual(Date.now());
    expect(identity.error).toBeNull();
    expect(lake.calls).toEqual(['GET whoami']);
  });

  it('asks nothing while no instance is known', async () => {
    selected = null;
    await identity.refresh();
    expect(identity.state).toBe('unknown');
    expect(lake.calls).toEqual([]);
  });

  it('is signed out, with the server message, when whoami answers 401', async () => {
    lake.overrides.set('GET whoami', () =>
      errorResponse(401, expired, 'credentials_expired')
    );
    await identity.refresh();
    expect(identity.state).toBe('signed-out');
    expect(identity.error?.message).toBe(expired);
    expect(identity.whoami).toBeNull();
    expect(identity.receivedAt).toBeNull();
  });

  it('keeps other failures apart from sign-in', async () => {
    lake.overrides.set('GET whoami', () =>
      errorResponse(
        502,
        'Rucio at http://127.0.0.1:1 did not answer.',
        'service_unavailable'
      )
    );
    await identity.refresh();
    expect(identity.state).toBe('error');
    expect(identity.error?.message).toBe(
      'Rucio at http://127.0.0.1:1 did not answer.'
    );
  });

  it('signs out on a 401 of another call to the selected instance only', async () => {
    await identity.refresh();
    const unauthorized = new DataLakeRequestError(
      expired,
      401,
      'credentials_expired'
    );
    identity.noteFailure(INSTANCE, new DataLakeRequestError('down', 502, 'x'));
    identity.noteFailure('cern', unauthorized);
    expect(identity.state).toBe('signed-in');

    identity.noteFailure(INSTANCE, unauthorized);
    expect(identity.state).toBe('signed-out');
    expect(identity.error).toBe(unauthorized);
  });

  it('asks again when a call works after a sign-in problem', async () => {
    identity.noteFailure(
      INSTANCE,
      new DataLakeRequestError(expired, 401, 'credentials_expired')
    );
    identity.noteSuccess('cern');
    await flush(10);
    expect(lake.count('GET whoami')).toBe(0);

    identity.noteSuccess(INSTANCE);
    await until(() => identity.state === 'signed-in', 'signed in again');
    expect(lake.count('GET whoami')).toBe(1);

    // Signed in: a working call asks nothing.
    identity.noteSuccess(INSTANCE);
    await flush(10);
    expect(lake.count('GET whoami')).toBe(1);
  });

  it('drops a late answer about an instance no longer selected', async () => {
    let answer: () => void = () => undefined;
    lake.overrides.set('GET whoami', async () => {
      await new Promise<void>(resolve => (answer = resolve));
      return jsonResponse(whoami());
    });
    const asking = identity.refresh();
    await flush();
    selected = 'cern';
    identity.reset();
    answer();
    await asking;
    expect(identity.state).toBe('unknown');
    expect(identity.whoami).toBeNull();
  });
});
