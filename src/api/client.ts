import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI, streamAPI } from './request';
import {
  IBasket,
  IAvailability,
  IDidDetails,
  IDidFilesResponse,
  IDidPathsResponse,
  IRsesResponse,
  IRule,
  IRuleChanges,
  IRuleCreated,
  IRulePreview,
  ISearchItem,
  ISearchQuery,
  ISearchResponse,
  IStatusResponse,
  IUpload,
  IUploadCheck,
  IUploadOptions,
  IUploadRequest,
  IWhoAmI
} from './types';

/** Most DIDs the server takes in one availability request (openapi.yaml). */
export const MAX_AVAILABILITY_DIDS = 2000;

/**
 * The escape-dlaas REST API, one method per endpoint (escape_dlaas/web/openapi.yaml).
 *
 * Every method rejects with a `DataLakeRequestError` whose `message` is the
 * server's explanation for the scientist.
 */
export class DataLakeAPI {
  constructor(serverSettings?: ServerConnection.ISettings) {
    this.serverSettings = serverSettings ?? ServerConnection.makeSettings();
  }

  readonly serverSettings: ServerConnection.ISettings;

  /** `GET status`: extension version and reachability of each instance. */
  status(): Promise<IStatusResponse> {
    return this._get('status');
  }

  /** `GET instances/{i}/whoami`: account and what is known of the token. */
  whoami(instance: string): Promise<IWhoAmI> {
    return this._get(Private.instancePath(instance, 'whoami'));
  }

  /**
   * `GET instances/{i}/search`: one page of DIDs matching the query.
   *
   * With `details: 'names'` the page carries only what Rucio's listing gives
   * and comes at once; `describe` fills in the rest.
   */
  search(
    instance: string,
    query: ISearchQuery,
    options: {
      cursor?: string | null;
      pageSize?: number;
      details?: 'full' | 'names';
      signal?: AbortSignal;
    } = {}
  ): Promise<ISearchResponse> {
    const params: Record<string, string> = { type: query.type };
    if (options.details) {
      params.details = options.details;
    }
    if (query.pattern.trim()) {
      params.q = query.pattern.trim();
    }
    if (query.scope) {
      params.scope = query.scope;
    }
    if (query.filters.length > 0) {
      params.filters = JSON.stringify(query.filters);
    }
    if (options.pageSize) {
      params.page_size = String(options.pageSize);
    }
    if (options.cursor) {
      params.cursor = options.cursor;
    }
    return this._get(Private.instancePath(instance, 'search', params), {
      signal: options.signal
    });
  }

  /**
   * `POST instances/{i}/describe`: type, size, metadata and availability of
   * a page of DIDs, in the order asked.
   */
  async describe(
    instance: string,
    dids: string[],
    signal?: AbortSignal
  ): Promise<ISearchItem[]> {
    const body = await this._send<{ items: ISearchItem[] }>(
      Private.instancePath(instance, 'describe'),
      'POST',
      { dids },
      signal
    );
    return body.items;
  }

  /** `GET instances/{i}/did`: metadata, rules and availability of one DID. */
  did(instance: string, did: string): Promise<IDidDetails> {
    return this._get(Private.instancePath(instance, 'did', { did }));
  }

  /** `GET instances/{i}/did/files`: a page of the DID's files with their replicas. */
  didFiles(
    instance: string,
    did: string,
    options: { cursor?: string | null; pageSize?: number } = {}
  ): Promise<IDidFilesResponse> {
    const params: Record<string, string> = { did };
    if (options.pageSize) {
      params.page_size = String(options.pageSize);
    }
    if (options.cursor) {
      params.cursor = options.cursor;
    }
    return this._get(Private.instancePath(instance, 'did/files', params));
  }

  /** `GET instances/{i}/did/paths`: local paths of the files at the notebook. */
  didPaths(instance: string, did: string): Promise<IDidPathsResponse> {
    return this._get(Private.instancePath(instance, 'did/paths', { did }));
  }

  /**
   * `POST instances/{i}/availability`: the state of many DIDs in one request.
   *
   * @param dids - At most MAX_AVAILABILITY_DIDS DIDs.
   */
  async availability(
    instance: string,
    dids: string[]
  ): Promise<IAvailability[]> {
    const body = await this._send<{ items: IAvailability[] }>(
      Private.instancePath(instance, 'availability'),
      'POST',
      { dids }
    );
    return body.items;
  }

  /** `GET instances/{i}/rules`: the rules of the signed-in account. */
  async myRules(instance: string): Promise<IRule[]> {
    const body = await this._get<{ rules: IRule[] }>(
      Private.instancePath(instance, 'rules')
    );
    return body.rules;
  }

  /** `GET instances/{i}/changes`: the account's rules updated since an earlier answer's `since`. */
  changes(instance: string, since: string | null): Promise<IRuleChanges> {
    return this._get(
      Private.instancePath(
        instance,
        'changes',
        since === null ? undefined : { since }
      )
    );
  }

  /**
   * `GET instances/{i}/events`: the live events of the user's rules, as
   * server-sent events; resolves with the open response once the server
   * answered. Rejects with `events_not_configured` (404) where the instance
   * has no message broker.
   */
  events(instance: string, signal: AbortSignal): Promise<Response> {
    return streamAPI(
      Private.instancePath(instance, 'events'),
      { method: 'GET', signal, headers: { Accept: 'text/event-stream' } },
      this.serverSettings
    );
  }

  /** `POST instances/{i}/rules`: make a DID available at a target (idempotent). */
  createRule(
    instance: string,
    request: { did: string; target: string; lifetime_days: number }
  ): Promise<IRuleCreated> {
    return this._send(Private.instancePath(instance, 'rules'), 'POST', request);
  }

  /**
   * `GET instances/{i}/rules/preview`: what `createRule` with the same
   * request would do (data to move, quota, embargo, storage, an existing
   * rule), without changing anything.
   */
  rulePreview(
    instance: string,
    request: { did: string; target: string; lifetime_days: number },
    signal?: AbortSignal
  ): Promise<IRulePreview> {
    return this._get(
      Private.instancePath(instance, 'rules/preview', {
        did: request.did,
        target: request.target,
        lifetime_days: String(request.lifetime_days)
      }),
      { signal }
    );
  }

  /** `PUT instances/{i}/rules/{id}`: a new lifetime, counted from now. */
  async extendRule(
    instance: string,
    ruleId: string,
    lifetimeDays: number
  ): Promise<IRule> {
    const body = await this._send<{ rule: IRule }>(
      Private.instancePath(instance, `rules/${encodeURIComponent(ruleId)}`),
      'PUT',
      { lifetime_days: lifetimeDays }
    );
    return body.rule;
  }

  /** `DELETE instances/{i}/rules/{id}`: cancel one of the user's rules. */
  async cancelRule(instance: string, ruleId: string): Promise<void> {
    await this._send(
      Private.instancePath(instance, `rules/${encodeURIComponent(ruleId)}`),
      'DELETE'
    );
  }

  /** `GET instances/{i}/rses`: storage elements and make-available targets. */
  rses(instance: string): Promise<IRsesResponse> {
    return this._get(Private.instancePath(instance, 'rses'));
  }

  /** `GET instances/{i}/scopes`. */
  async scopes(instance: string): Promise<string[]> {
    const body = await this._get<{ scopes: string[] }>(
      Private.instancePath(instance, 'scopes')
    );
    return body.scopes;
  }

  /** `GET instances/{i}/metadata-keys`: keys for the filter builder. */
  async metadataKeys(instance: string): Promise<string[]> {
    const body = await this._get<{ keys: string[] }>(
      Private.instancePath(instance, 'metadata-keys')
    );
    return body.keys;
  }

  /** `GET instances/{i}/upload/options`: writable scopes, targets, lifetimes, metadata keys with types. */
  uploadOptions(instance: string): Promise<IUploadOptions> {
    return this._get(Private.instancePath(instance, 'upload/options'));
  }

  /** `POST instances/{i}/upload/check`: checksums, identical files, taken names, quota; changes nothing. */
  checkUpload(
    instance: string,
    request: IUploadRequest,
    signal?: AbortSignal
  ): Promise<IUploadCheck> {
    return this._send(
      Private.instancePath(instance, 'upload/check'),
      'POST',
      request,
      signal
    );
  }

  /** `POST instances/{i}/uploads`: start an upload in the background. */
  async startUpload(
    instance: string,
    request: IUploadRequest
  ): Promise<IUpload> {
    const body = await this._send<{ upload: IUpload }>(
      Private.instancePath(instance, 'uploads'),
      'POST',
      request
    );
    return body.upload;
  }

  /** `GET instances/{i}/uploads/{id}`: progress, then the outcome. */
  async upload(instance: string, uploadId: string): Promise<IUpload> {
    const body = await this._get<{ upload: IUpload }>(
      Private.instancePath(instance, `uploads/${encodeURIComponent(uploadId)}`)
    );
    return body.upload;
  }

  /** `DELETE instances/{i}/uploads/{id}`: cancel (nothing stays before registration). */
  async cancelUpload(instance: string, uploadId: string): Promise<IUpload> {
    const body = await this._send<{ upload: IUpload }>(
      Private.instancePath(instance, `uploads/${encodeURIComponent(uploadId)}`),
      'DELETE'
    );
    return body.upload;
  }

  /** `GET basket`: the user's ESAP basket, its Rucio items resolved against `instance` (default: the site's). */
  basket(instance?: string | null): Promise<IBasket> {
    const query = instance ? URLExt.objectToQueryString({ instance }) : '';
    return this._get(`basket${query}`);
  }

  private _get<T>(endPoint: string, init: RequestInit = {}): Promise<T> {
    return requestAPI<T>(
      endPoint,
      { ...init, method: 'GET' },
      this.serverSettings
    );
  }

  private _send<T>(
    endPoint: string,
    method: 'POST' | 'PUT' | 'DELETE',
    body?: unknown,
    signal?: AbortSignal
  ): Promise<T> {
    return requestAPI<T>(
      endPoint,
      {
        method,
        signal,
        body: body === undefined ? undefined : JSON.stringify(body),
        headers:
          body === undefined
            ? undefined
            : { 'Content-Type': 'application/json' }
      },
      this.serverSettings
    );
  }
}

namespace Private {
  /** `instances/{instance}/{path}?{query}`, every part encoded. */
  export function instancePath(
    instance: string,
    path: string,
    query?: Record<string, string>
  ): string {
    const base = `instances/${encodeURIComponent(instance)}/${path}`;
    return query ? base + URLExt.objectToQueryString(query) : base;
  }
}
