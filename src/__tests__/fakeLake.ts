/**
 * A fake escape-dlaas server extension with a small, changeable lake behind
 * it: every endpoint of openapi.yaml answers from `FakeLake`'s state, and
 * each request is recorded. Built on FakeJupyterServer, so the code under
 * test makes real Requests through ServerConnection.
 */
import {
  IAvailability,
  IDidDetails,
  IDidFile,
  IDidPathsResponse,
  IRule,
  IRulePreview,
  ISearchItem,
  ITarget,
  IWhoAmI
} from '../api/types';
import { FakeJupyterServer, jsonResponse, makeStatus } from './fakeServer';

export const INSTANCE = 'local-lake';
export const API = `/user/alice/escape-dlaas/instances/${INSTANCE}`;

export function availability(
  did: string,
  state: IAvailability['state'],
  files: { total: number; at_notebook?: number; replicating?: number } = {
    total: 3
  },
  bytesTotal = 26112,
  reason: string | null = null
): IAvailability {
  const at = files.at_notebook ?? (state === 'AVAILABLE' ? files.total : 0);
  return {
    did,
    state,
    files: {
      total: files.total,
      at_notebook: at,
      replicating: files.replicating ?? 0
    },
    bytes: {
      total: bytesTotal,
      at_notebook:
        files.total > 0 ? Math.round((bytesTotal * at) / files.total) : 0
    },
    rule_ids: [],
    reason
  };
}

export function searchItem(
  did: string,
  overrides: Partial<ISearchItem> = {}
): ISearchItem {
  const [scope, name] = did.split(':');
  return {
    did,
    scope,
    name,
    type: 'DATASET',
    bytes: 26112,
    length: 3,
    metadata: { telescope: scope, energy: 150, obs_date: '2023-05-19' },
    availability: availability(did, 'NOT_AVAILABLE'),
    ...overrides
  };
}

export function rule(overrides: Partial<IRule> = {}): IRule {
  return {
    id: 'a41a697924f44050b9c8c4bcade5c89c',
    did: 'ska:AA05_quicklook_0001',
    account: 'alice',
    rse_expression: 'NOTEBOOK-LOCAL',
    state: 'REPLICATING',
    locks: { ok: 0, replicating: 1, stuck: 0 },
    expires_at: '2026-11-30T12:00:00',
    created_at: '2026-11-23T12:00:00',
    error: null,
    towards_notebook: true,
    copies: 1,
    comment: null,
    ...overrides
  };
}

export const TARGETS: ITarget[] = [
  {
    id: 'notebook',
    label: 'Notebook-local storage',
    rse_expression: 'NOTEBOOK-LOCAL'
  },
  { id: 'CHEAP', label: 'QoS class CHEAP', rse_expression: 'QOS=CHEAP' },
  { id: 'SAFE', label: 'QoS class SAFE', rse_expression: 'QOS=SAFE' }
];

export function whoami(expiresIn: number | null = 3600): IWhoAmI {
  return {
    instance: INSTANCE,
    account: 'alice',
    token: {
      authenticated: true,
      auth_type: 'oidc',
      sub: 'alice',
      iss: 'https://127.0.0.1:18443/',
      aud: ['rucio'],
      scope: 'openid profile',
      exp: expiresIn === null ? null : 1795476313,
      expires_in: expiresIn,
      source: 'file:/lake/tokens/alice.token',
      exchanged: true
    }
  };
}

/** An error body as the server sends it. */
export function errorResponse(
  status: number,
  message: string,
  reason: string,
  field?: string
): Response {
  return jsonResponse(
    field === undefined ? { message, reason } : { message, reason, field },
    status
  );
}

type Route = (request: Request, url: URL) => Response | Promise<Response>;

export class FakeLake {
  constructor() {
    this.server = new FakeJupyterServer(request => this._route(request));
  }

  readonly server: FakeJupyterServer;

  /** Every search result of the lake, in order; pages are cut from it. */
  items: ISearchItem[] = [
    searchItem('lofar:L2023_712342_HBA', {
      metadata: {
        telescope: 'lofar',
        energy: 150,
        doi: '10.5072/escape.lofar.712342',
        obs_date: '2023-05-19'
      }
    }),
    searchItem('lofar:L2023_712343_HBA'),
    searchItem('lofar:L2023_712399_HBA_raw', { bytes: 198144 })
  ];
  /** Availability per DID, as the bulk endpoint reports it. */
  states = new Map<string, IAvailability>();
  /** Rules per DID (all accounts). */
  rules = new Map<string, IRule[]>();
  /** Files per DID. */
  files = new Map<string, IDidFile[]>();
  /**
   * Local paths per DID: the links in its folder (under `root`) or,
   * without one, the replicas' own paths.
   */
  paths = new Map<string, Record<string, string>>();
  /** Jupyter's root: `did/paths` gives the folder relative to it. */
  root = '/home/jovyan';
  /** What `did/paths` says of a DID's folder, when not derived from `paths`. */
  folders = new Map<
    string,
    Partial<
      Pick<
        IDidPathsResponse,
        'replica_paths' | 'directory' | 'relative_directory' | 'folder_problem'
      >
    >
  >();
  whoami: IWhoAmI = whoami();
  /** What `rules/preview` says of a DID, over what `preview` derives from the lake. */
  previews = new Map<string, Partial<IRulePreview>>();
  /** Replace a route to make the lake misbehave, e.g. `overrides.set('POST rules', ...)`. */
  overrides = new Map<string, Route>();

  get settings() {
    return this.server.settings;
  }

  /** `METHOD path-after-instance` of each request, e.g. `POST availability`. */
  get calls(): string[] {
    return this.server.requests.map(request => {
      const path = new URL(request.url).pathname;
      const short = path.startsWith(API + '/')
        ? path.slice(API.length + 1)
        : path.replace('/user/alice/escape-dlaas/', '');
      return `${request.method} ${short.replace(/^rules\/(?!preview$).+$/, 'rules/{id}')}`;
    });
  }

  /** Bodies of the requests to one route, parsed as JSON. */
  async bodies(route: string): Promise<unknown[]> {
    const calls = this.calls;
    const bodies: unknown[] = [];
    for (let i = 0; i < calls.length; i++) {
      if (calls[i] === route) {
        bodies.push(
          JSON.parse(this._bodies.get(this.server.requests[i]) ?? 'null')
        );
      }
    }
    return bodies;
  }

  /** Query parameters of the requests to one route. */
  queries(route: string): URLSearchParams[] {
    return this.calls
      .map((call, i) => [call, this.server.requests[i]] as const)
      .filter(([call]) => call === route)
      .map(([, request]) => new URL(request.url).searchParams);
  }

  count(route: string): number {
    return this.calls.filter(call => call === route).length;
  }

  availabilityOf(did: string): IAvailability {
    return this.states.get(did) ?? availability(did, 'NOT_AVAILABLE');
  }

  /**
   * What `rules/preview` answers: the DID's size, what is not at the
   * notebook yet (for the notebook target), the user's rule for it (then
   * `exists`), no quota limit and no embargo; `previews` overrides parts.
   */
  preview(did: string, targetId: string, lifetimeDays: number): IRulePreview {
    const target =
      TARGETS.find(candidate => candidate.id === targetId) ?? TARGETS[0];
    const item = this.items.find(candidate => candidate.did === did);
    const size = { bytes: item?.bytes ?? 4096, files: item?.length ?? 1 };
    const state = this.availabilityOf(did);
    const existing =
      (this.rules.get(did) ?? []).find(
        one =>
          one.account === 'alice' &&
          one.rse_expression === target.rse_expression
      ) ?? null;
    return {
      did,
      type: item?.type ?? 'DATASET',
      target,
      lifetime_days: lifetimeDays,
      rses: [target.rse_expression],
      size,
      to_move:
        target.id === 'notebook'
          ? {
              bytes: size.bytes - state.bytes.at_notebook,
              files: size.files - state.files.at_notebook
            }
          : size,
      quota: { needed_bytes: size.bytes, fits: true, rses: [], message: null },
      embargo: null,
      rule: existing,
      outcome: existing ? 'exists' : 'create',
      note: null,
      refusals: [],
      ...this.previews.get(did)
    };
  }

  private _bodies = new Map<Request, string>();

  /** A search result as Rucio's listing gives it (no metadata, no availability). */
  private _listed(item: ISearchItem): ISearchItem {
    const { metadata, availability, ...listed } = item;
    void metadata;
    void availability;
    return listed;
  }

  private _stateOf(item: ISearchItem): IAvailability | null {
    return this.states.get(item.did) ?? item.availability ?? null;
  }

  private async _route(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== 'GET') {
      const text = await request.text();
      this._bodies.set(request, text);
      request = new Request(request.url, {
        method: request.method,
        body: text || undefined,
        headers: request.headers
      });
    }
    const path = url.pathname;
    if (path === '/user/alice/escape-dlaas/status') {
      return (
        this.overrides.get('GET status')?.(request, url) ??
        jsonResponse(makeStatus())
      );
    }
    if (!path.startsWith(API + '/')) {
      return errorResponse(
        404,
        `unknown instance in ${path}`,
        'unknown_instance'
      );
    }
    let route = path.slice(API.length + 1);
    if (route.startsWith('rules/') && route !== 'rules/preview') {
      route = 'rules/{id}';
    }
    const key = `${request.method} ${route}`;
    const override = this.overrides.get(key);
    if (override) {
      return override(request, url);
    }
    const did = url.searchParams.get('did') ?? '';
    switch (key) {
      case 'GET whoami':
        return jsonResponse(this.whoami);
      case 'GET scopes':
        return jsonResponse({ scopes: ['cta', 'km3net', 'lofar', 'ska'] });
      case 'GET metadata-keys':
        return jsonResponse({
          keys: ['doi', 'energy', 'obs_date', 'telescope']
        });
      case 'GET rses':
        return jsonResponse({
          rses: [
            { name: 'ESCAPE-SAFE', qos_class: 'SAFE', notebook_local: false },
            { name: 'NOTEBOOK-LOCAL', qos_class: 'FAST', notebook_local: true }
          ],
          targets: TARGETS
        });
      case 'GET search': {
        const size = Number(url.searchParams.get('page_size') ?? 100);
        const start = Number(url.searchParams.get('cursor') ?? 0);
        const names = url.searchParams.get('details') === 'names';
        const page = this.items
          .slice(start, start + size)
          .map(item =>
            names
              ? this._listed(item)
              : { ...item, availability: this._stateOf(item) }
          );
        const next =
          start + size < this.items.length ? String(start + size) : null;
        return jsonResponse({ items: page, next_cursor: next });
      }
      case 'POST describe': {
        const body = (await request.json()) as { dids: string[] };
        return jsonResponse({
          items: body.dids.map(one => {
            const item = this.items.find(candidate => candidate.did === one);
            return item
              ? { ...item, availability: this._stateOf(item) }
              : searchItem(one, {
                  type: null,
                  bytes: null,
                  length: null,
                  metadata: {},
                  availability: availability(one, 'UNKNOWN')
                });
          })
        });
      }
      case 'POST availability': {
        const body = (await request.json()) as { dids: string[] };
        return jsonResponse({
          items: body.dids.map(one => this.availabilityOf(one))
        });
      }
      case 'GET did': {
        const item = this.items.find(candidate => candidate.did === did);
        if (!item && !this.states.has(did)) {
          return errorResponse(
            404,
            `Cannot read ${did}: Rucio does not know it.`,
            'did_not_found'
          );
        }
        const details: IDidDetails = {
          did,
          scope: did.split(':')[0],
          name: did.split(':')[1],
          type: item?.type ?? 'DATASET',
          bytes: item?.bytes ?? 4096,
          length: item?.length ?? 1,
          metadata: item?.metadata ?? {},
          rules: this.rules.get(did) ?? [],
          availability: this.availabilityOf(did)
        };
        return jsonResponse(details);
      }
      case 'GET did/files': {
        const all = this.files.get(did) ?? [];
        const size = Number(url.searchParams.get('page_size') ?? 50);
        const start = Number(url.searchParams.get('cursor') ?? 0);
        const next = start + size < all.length ? String(start + size) : null;
        return jsonResponse({
          did,
          files: all.slice(start, start + size),
          next_cursor: next
        });
      }
      case 'GET did/paths': {
        const paths = this.paths.get(did) ?? {};
        const values = Object.values(paths);
        const directory = values.length
          ? values[0].slice(0, values[0].lastIndexOf('/'))
          : null;
        const answer: IDidPathsResponse = {
          did,
          paths,
          replica_paths: paths,
          missing: [],
          directory,
          relative_directory:
            directory !== null && directory.startsWith(this.root + '/')
              ? directory.slice(this.root.length + 1)
              : null,
          folder_problem: null,
          ...this.folders.get(did)
        };
        return jsonResponse(answer);
      }
      case 'GET rules':
        return jsonResponse({
          rules: [...this.rules.values()]
            .flat()
            .filter(one => one.account === 'alice')
        });
      case 'POST rules': {
        const body = (await request.json()) as { did: string; target: string };
        const target = TARGETS.find(candidate => candidate.id === body.target)!;
        const created = rule({
          id: `rule${this.count('POST rules')}`.padEnd(32, '0'),
          did: body.did,
          rse_expression: target.rse_expression,
          towards_notebook: body.target === 'notebook'
        });
        this.rules.set(body.did, [
          ...(this.rules.get(body.did) ?? []),
          created
        ]);
        return jsonResponse({ rule: created, created: true }, 201);
      }
      case 'GET rules/preview':
        return jsonResponse(
          this.preview(
            did,
            url.searchParams.get('target') ?? 'notebook',
            Number(url.searchParams.get('lifetime_days'))
          )
        );
      case 'PUT rules/{id}':
        return jsonResponse({ rule: rule() });
      case 'DELETE rules/{id}':
        return jsonResponse({ deleted: path.split('/').pop() });
      default:
        return errorResponse(404, `no route ${key}`, 'not_found');
    }
  }
}
