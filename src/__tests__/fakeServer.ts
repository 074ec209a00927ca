/**
 * A fake Jupyter server at the ServerConnection level: the code under test
 * builds real `Request`s through `ServerConnection.makeRequest`, and this
 * class answers them with real `Response`s from a replaceable handler.
 */
import { ServerConnection } from '@jupyterlab/services';

import { IInstanceStatus, IStatusResponse } from '../api/types';

/** A base URL with a path, as under JupyterHub, to check URL joining. */
export const BASE_URL = 'http://localhost:8888/user/alice/';

export type RequestHandler = (request: Request) => Response | Promise<Response>;

export class FakeJupyterServer {
  constructor(handler: RequestHandler) {
    this.handler = handler;
    this.settings = ServerConnection.makeSettings({
      baseUrl: BASE_URL,
      wsUrl: 'ws://localhost:8888/user/alice/',
      fetch: (input: RequestInfo) => this._answer(input as Request)
    });
  }

  /** Answers the next requests; replace it to change the server's behaviour. */
  handler: RequestHandler;

  /** Settings to give the code under test. */
  readonly settings: ServerConnection.ISettings;

  /** Every request received, in order. */
  readonly requests: Request[] = [];

  /** When each request arrived (`Date.now()`, faked by jest's fake timers). */
  readonly requestTimes: number[] = [];

  /** Paths (without query string) of the requests received. */
  get requestedPaths(): string[] {
    return this.requests.map(request => new URL(request.url).pathname);
  }

  private async _answer(request: Request): Promise<Response> {
    this.requests.push(request);
    this.requestTimes.push(Date.now());
    return this.handler(request);
  }
}

export function jsonResponse(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' }
  });
}

/** What Jupyter server answers on a path no handler is mounted on. */
export function tornadoNotFound(): Response {
  return new Response(
    '<html><title>404: Not Found</title><body>404: Not Found</body></html>',
    {
      status: 404,
      statusText: 'Not Found',
      headers: { 'Content-Type': 'text/html' }
    }
  );
}

export function makeInstance(
  overrides: Partial<IInstanceStatus> = {}
): IInstanceStatus {
  return {
    name: 'local-lake',
    display_name: 'Local data lake',
    rucio_url: 'http://127.0.0.1:18080',
    reachable: true,
    rucio_version: '41.5.1',
    latency_ms: 12.3,
    error: null,
    ...overrides
  };
}

export function makeStatus(
  overrides: Partial<IStatusResponse> = {}
): IStatusResponse {
  return {
    version: '0.1.0',
    default_instance: 'local-lake',
    instances: [makeInstance()],
    ...overrides
  };
}
