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
  const url = URLExt.join(serverSettings.baseUrl, API_NAMESPACE, endPoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, serverSettings);
  } catch (error) {
    throw new DataLakeRequestError(
      `Cannot reach the Jupyter server: ${(error as Error).message}`,
      0,
      NETWORK_ERROR
    );
  }

  const text = await response.text();
  const body = Private.parseJSON(text);

  if (!response.ok) {
    if (Private.isErrorResponse(body)) {
      throw new DataLakeRequestError(
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
      throw new DataLakeRequestError(
        SERVER_EXTENSION_MISSING_MESSAGE,
        404,
        SERVER_EXTENSION_MISSING
      );
    }
    throw new DataLakeRequestError(
      `The Jupyter server answered ${response.status} ${response.statusText} to ${endPoint}.`,
      response.status,
      'http_error'
    );
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

namespace Private {
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
