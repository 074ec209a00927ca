import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IErrorResponse } from './types';

/** URL path segment under the server's base_url where the REST API lives. */
export const API_NAMESPACE = 'escape-dlaas';

/** `reason` of the error raised when the server extension does not answer at all. */
export const SERVER_EXTENSION_MISSING = 'server_extension_missing';
/** `reason` of the error raised when the Jupyter server itself cannot be reached. */
export const NETWORK_ERROR = 'network_error';

/** Message shown when the namespace answers 404 without our error body. */
export const SERVER_EXTENSION_MISSING_MESSAGE =
  'The escape-dlaas server extension is not installed or not enabled.';

/**
 * A failed call to the escape-dlaas REST API.
 *
 * `message` is meant for the scientist: it is the server's own `message` when
 * the server extension answered, or our explanation otherwise.
 */
export class DataLakeRequestError extends Error {
  constructor(
    message: string,
    /** HTTP status; 0 when no HTTP answer arrived. */
    readonly status: number,
    /** Short machine-readable code (server's `reason`, or one of ours). */
    readonly reason: string,
    /** The request field at fault, for input errors. */
    readonly field?: string,
    /** The external service at fault (`Rucio`, `token issuer`, `JupyterHub`...), if any. */
    readonly service?: string
  ) {
    super(message);
    this.name = 'DataLakeRequestError';
  }
}

/**
 * Call the escape-dlaas REST API and return the parsed JSON body.
 *
 * @param endPoint - Path below `{base_url}/escape-dlaas/`, e.g. `status`.
 * @param init - fetch options (method, body...).
 * @param serverSettings - Jupyter server connection; the app's in production.
 * @returns The JSON body, typed by the caller; `undefined` for 204 No Content.
 * @throws {DataLakeRequestError} on a network failure or any non-2xx answer.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const response = await Private.open(endPoint, init, serverSettings);
  const text = await response.text();
  const body = Private.parseJSON(text);

  if (!response.ok) {
    throw Private.errorOf(response, body, endPoint);
  }

  if (response.status === 204 || text.length === 0) {
    return undefined as T;
  }
  if (body === Private.NOT_JSON) {
    throw new DataLakeRequestError(
      `The Jupyter server sent an invalid answer to ${endPoint} (not JSON).`,
      response.status,
      'invalid_response'
    );
  }
  return body as T;
}

/**
 * Open a streamed answer of the escape-dlaas REST API (server-sent events).
 *
 * Authenticated like every other call (the same `ServerConnection`); errors
 * are the same `DataLakeRequestError`s as `requestAPI`'s.
 *
 * @returns The open response, its body to be read as it arrives.
 */
export async function streamAPI(
  endPoint: string,
  init: RequestInit = {},
  serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<Response> {
  const response = await Private.open(endPoint, init, serverSettings);
  if (!response.ok) {
    const text = await response.text();
    throw Private.errorOf(response, Private.parseJSON(text), endPoint);
  }
  return response;
}

namespace Private {
  /** Send the request; a network failure becomes a DataLakeRequestError. */
  export async function open(
    endPoint: string,
    init: RequestInit,
    serverSettings: ServerConnection.ISettings
  ): Promise<Response> {
    const url = URLExt.join(serverSettings.baseUrl, API_NAMESPACE, endPoint);
    try {
      return await ServerConnection.makeRequest(url, init, serverSettings);
    } catch (error) {
      throw new DataLakeRequestError(
        `Cannot reach the Jupyter server: ${(error as Error).message}`,
        0,
        NETWORK_ERROR
      );
    }
  }

  /** The error for a non-2xx answer: the server's own explanation when it gave one. */
  export function errorOf(
    response: Response,
    body: unknown,
    endPoint: string
  ): DataLakeRequestError {
    if (Private.isErrorResponse(body)) {
      return new DataLakeRequestError(
        body.message,
        response.status,
        body.reason,
        body.field,
        body.service
      );
    }
    // Any handler of ours answers errors with a JSON body; a bare 404 comes
    // from Jupyter server itself, meaning nothing is mounted on the namespace.
    if (response.status === 404) {
      return new DataLakeRequestError(
        SERVER_EXTENSION_MISSING_MESSAGE,
        404,
        SERVER_EXTENSION_MISSING
      );
    }
    return new DataLakeRequestError(
      `The Jupyter server answered ${response.status} ${response.statusText} to ${endPoint}.`,
      response.status,
      'http_error'
    );
  }

  /** Marker for a body that is not valid JSON. */
  export const NOT_JSON = Symbol('not JSON');

  export function parseJSON(text: string): unknown {
    if (text.length === 0) {
      return NOT_JSON;
    }
    try {
      return JSON.parse(text);
    } catch {
      return NOT_JSON;
    }
  }

  export function isErrorResponse(body: unknown): body is IErrorResponse {
    return (
      typeof body === 'object' &&
      body !== null &&
      typeof (body as IErrorResponse).message === 'string' &&
      typeof (body as IErrorResponse).reason === 'string'
    );
  }
}

/** Any failure as a DataLakeRequestError (bugs included, so they are shown, not lost). */
export function toRequestError(reason: unknown): DataLakeRequestError {
  if (reason instanceof DataLakeRequestError) {
    return reason;
  }
  const message =
    reason instanceof Error
      ? reason.message
      : String(reason ?? 'unknown error');
  return new DataLakeRequestError(message, 0, 'unexpected');
}

/** Whether the server said the credentials are missing or expired (HTTP 401). */
export function isUnauthorized(error: unknown): boolean {
  return error instanceof DataLakeRequestError && error.status === 401;
}
