import {
  DataLakeRequestError,
  NETWORK_ERROR,
  requestAPI,
  SERVER_EXTENSION_MISSING
} from '../../api/request';
import { IStatusResponse } from '../../api/types';
import {
  FakeJupyterServer,
  jsonResponse,
  makeStatus,
  tornadoNotFound
} from '../fakeServer';

/** The error `promise` rejects with; fails the test if it resolves. */
async function rejectionOf(
  promise: Promise<unknown>
): Promise<DataLakeRequestError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(DataLakeRequestError);
    return error as DataLakeRequestError;
  }
  throw new Error('expected the request to fail');
}

describe('requestAPI', () => {
  it('joins base_url and the escape-dlaas namespace and parses the JSON body', async () => {
    const status = makeStatus({ version: '9.9.9' });
    const server = new FakeJupyterServer(() => jsonResponse(status));

    const body = await requestAPI<IStatusResponse>(
      'status',
      {},
      server.settings
    );

    expect(body).toEqual(status);
    expect(server.requestedPaths).toEqual(['/user/alice/escape-dlaas/status']);
    expect(server.requests[0].method).toBe('GET');
  });

  it('sends the method and body it is given', async () => {
    const server = new FakeJupyterServer(() =>
      jsonResponse({ id: 'rule-1' }, 201)
    );

    const body = await requestAPI<{ id: string }>(
      'rules',
      { method: 'POST', body: JSON.stringify({ did: 'user.alice:file1' }) },
      server.settings
    );

    expect(body).toEqual({ id: 'rule-1' });
    expect(server.requests[0].method).toBe('POST');
    expect(await server.requests[0].text()).toBe('{"did":"user.alice:file1"}');
  });

  it('returns undefined for 204 No Content', async () => {
    const server = new FakeJupyterServer(
      () => new Response(null, { status: 204 })
    );

    await expect(
      requestAPI<void>('rules/abc', { method: 'DELETE' }, server.settings)
    ).resolves.toBeUndefined();
  });

  it('explains a bare 404 on the namespace as a missing server extension', async () => {
    const server = new FakeJupyterServer(() => tornadoNotFound());

    const error = await rejectionOf(requestAPI('status', {}, server.settings));

    expect(error.status).toBe(404);
    expect(error.reason).toBe(SERVER_EXTENSION_MISSING);
    expect(error.message).toBe(
      'The escape-dlaas server extension is not installed or not enabled.'
    );
  });

  it("keeps the server's message for a 404 the extension itself sent", async () => {
    const server = new FakeJupyterServer(() =>
      jsonResponse(
        {
          message: 'No DID user.alice:nope in scope user.alice.',
          reason: 'not_found'
        },
        404
      )
    );

    const error = await rejectionOf(
      requestAPI('dids/user.alice/nope', {}, server.settings)
    );

    expect(error.status).toBe(404);
    expect(error.reason).toBe('not_found');
    expect(error.message).toBe('No DID user.alice:nope in scope user.alice.');
  });

  it("carries the server's message, reason, field and status on other errors", async () => {
    const server = new FakeJupyterServer(() =>
      jsonResponse(
        {
          message: 'Lifetime must be at most 30 days.',
          reason: 'invalid_input',
          field: 'lifetime_days'
        },
        400
      )
    );

    const error = await rejectionOf(
      requestAPI('rules', { method: 'POST' }, server.settings)
    );

    expect(error.status).toBe(400);
    expect(error.reason).toBe('invalid_input');
    expect(error.field).toBe('lifetime_days');
    expect(error.message).toBe('Lifetime must be at most 30 days.');
  });

  it('names the status when an error has no JSON body', async () => {
    const server = new FakeJupyterServer(
      () =>
        new Response('Bad gateway', { status: 502, statusText: 'Bad Gateway' })
    );

    const error = await rejectionOf(requestAPI('status', {}, server.settings));

    expect(error.status).toBe(502);
    expect(error.reason).toBe('http_error');
    expect(error.message).toContain('502 Bad Gateway');
  });

  it('reports a network failure with status 0', async () => {
    const server = new FakeJupyterServer(() => {
      throw new TypeError('Failed to fetch');
    });

    const error = await rejectionOf(requestAPI('status', {}, server.settings));

    expect(error.status).toBe(0);
    expect(error.reason).toBe(NETWORK_ERROR);
    expect(error.message).toContain('Cannot reach the Jupyter server');
  });

  it('rejects a successful answer that is not JSON', async () => {
    const server = new FakeJupyterServer(
      () => new Response('<html>login</html>', { status: 200 })
    );

    const error = await rejectionOf(requestAPI('status', {}, server.settings));

    expect(error.reason).toBe('invalid_response');
  });
});
