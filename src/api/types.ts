/**
 * The shapes of the escape-dlaas REST API: request and response bodies.
 *
 * They mirror the server contract, escape_dlaas/web/openapi.yaml: keep field
 * names exactly as the server sends them. Types only, no code.
 */

/** What `GET /escape-dlaas/status` says about one configured Rucio instance. */
export interface IInstanceStatus {
  /** Stable identifier of the instance in the admin configuration. */
  name: string;
  /** Human-readable name shown to the scientist. */
  display_name: string;
  rucio_url: string;
  /** Rucio virtual organisation, when the instance sets one. */
  vo?: string;
  /** Whether the Rucio server answered the last ping. */
  reachable: boolean;
  /** Rucio server version, when reachable. */
  rucio_version?: string | null;
  /** Round-trip time of the ping in milliseconds, when reachable. */
  latency_ms?: number | null;
  /** When the server last asked Rucio (ISO 8601); answers are a few seconds fresh. */
  checked_at?: string;
  /**
   * Whether Rucio's database answers (Rucio's `/ping` answers without it):
   * `unknown` until the user's credentials are known to Rucio; `checking`
   * while a check is under way. `reachable` is false while it is `unavailable`.
   */
  database?: DatabaseState;
  /** What is down, in plain words (Rucio or its database); null when reachable. */
  error?: string | null;
}

/** What the status found of Rucio's database (IInstanceStatus.database). */
export type DatabaseState = 'ok' | 'unavailable' | 'checking' | 'unknown';

/** Body of `GET /escape-dlaas/status`. */
export interface IStatusResponse {
  /** Version of the escape-dlaas server extension. */
  version: string;
  /** Name of the instance the administrator marked as default, if any. */
  default_instance?: string | null;
  /** Set when the administrator's configuration is invalid (it names the key). */
  configuration_error?: IErrorResponse | null;
  instances: IInstanceStatus[];
}

/** Body of every 4xx/5xx answer of the server extension. */
export interface IErrorResponse {
  /** Explanation written for the scientist. */
  message: string;
  /** Short machine-readable code, e.g. `not_found`. */
  reason: string;
  /** The request field at fault, for input errors. */
  field?: string;
  /** The external service at fault (e.g. Rucio, the token issuer), if any. */
  service?: string;
}

/* ------------------------------------------------------------------------
 * Data identifiers, availability, rules: the shapes of the instance endpoints.
 * ---------------------------------------------------------------------- */

/** The `type` filter of a search. */
export type DidTypeFilter =
  'all' | 'collection' | 'dataset' | 'container' | 'file';

/** Whether a DID's data can be used at the notebook (Availability.state). */
export type AvailabilityState =
  | 'AVAILABLE'
  | 'PARTIAL'
  | 'REPLICATING'
  | 'STUCK'
  | 'NOT_AVAILABLE'
  | 'EMPTY'
  | 'UNKNOWN';

/** Availability of one DID at the notebook-local storage. */
export interface IAvailability {
  did: string;
  state: AvailabilityState;
  files: { total: number; at_notebook: number; replicating: number };
  bytes: { total: number; at_notebook: number };
  /** Rules towards the notebook on this DID. */
  rule_ids?: string[];
  /** Rucio's reason, for STUCK (and UNKNOWN). */
  reason?: string | null;
}

/** One search result. */
export interface ISearchItem {
  did: string;
  scope: string;
  name: string;
  /** FILE, DATASET or CONTAINER (upper case), when known. */
  type: string | null;
  bytes: number | null;
  /** Number of files. */
  length: number | null;
  /** Absent until the item is described (a page fetched with `details: 'names'`). */
  metadata?: Record<string, unknown>;
  /** Absent until described; null for what has no state here (containers on a page). */
  availability?: IAvailability | null;
}

/** Why a metadata search may have found nothing, and what to search for instead. */
export interface ISearchHint {
  /** `unknown_key`, `case` (the value in another letter case) or `quotes` (quotes typed around a value). */
  kind: 'unknown_key' | 'case' | 'quotes';
  /** The request field the hint is about (`filter`). */
  field: string;
  /** In plain words, for the scientist. */
  message: string;
  /** The whole filter, corrected, in the text form; null when there is no single fix. */
  suggestion: string | null;
}

/** Body of `GET instances/{i}/search`. */
export interface ISearchResponse {
  items: ISearchItem[];
  next_cursor: string | null;
  scopes_searched?: string[];
  /** Whether a scope had more matches than a cursor can reach (they are left out). */
  truncated?: boolean;
  /** Why a metadata search found nothing: only with an empty first page, else []. */
  hints?: ISearchHint[];
}

/** One metadata condition; a filter is OR groups of AND-ed conditions. */
export interface IFilterCondition {
  key: string;
  op: FilterOperator;
  value: string | number | boolean;
}

/** Comparison operators of the metadata filter. */
export type FilterOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** What a search asks for. */
export interface ISearchQuery {
  /** Name pattern with `*` wildcards, optionally `scope:pattern`. */
  pattern: string;
  /** One scope, or '' for all. */
  scope: string;
  type: DidTypeFilter;
  /** Metadata filter: OR groups of AND-ed conditions ([] for none). */
  filters: IFilterCondition[][];
}

/** A Rucio replication rule as the server summarises it. */
export interface IRule {
  id: string;
  did: string;
  account: string;
  rse_expression: string;
  /** Rucio's rule state: OK, REPLICATING, STUCK, SUSPENDED, WAITING_APPROVAL, INJECT. */
  state: string;
  locks: { ok: number; replicating: number; stuck: number };
  /** ISO date-time in UTC (Rucio sends no zone), or null for no expiry. */
  expires_at: string | null;
  created_at?: string | null;
  /** Rucio's explanation, for stuck rules. */
  error: string | null;
  /** Whether the rule brings data to the notebook-local storage. */
  towards_notebook: boolean;
  copies?: number;
  comment?: string | null;
  /** Rucio keeps a locked rule from being deleted. */
  locked?: boolean;
  /**
   * Whether "Extend" can work: the user's unlocked rule, on a data lake that
   * has not refused to let users extend rules.
   */
  can_extend?: boolean;
  /** As `can_extend`, for cancelling. */
  can_cancel?: boolean;
}

/** Body of `GET instances/{i}/did`. */
export interface IDidDetails {
  did: string;
  scope: string;
  name: string;
  type: string | null;
  bytes: number | null;
  length: number | null;
  metadata: Record<string, unknown>;
  rules: IRule[];
  availability: IAvailability;
  rses?: Record<string, { qos_class: string | null; notebook_local: boolean }>;
}

/** One replica of a file. */
export interface IReplica {
  rse: string;
  state: string;
  qos_class: string | null;
}

/** One file of a DID, with where its replicas are. */
export interface IDidFile {
  did: string;
  scope?: string;
  name?: string;
  bytes: number | null;
  adler32?: string | null;
  /** AVAILABLE, REPLICATING, STUCK (at the notebook), ELSEWHERE or LOST. */
  state: string;
  reason: string | null;
  replicas: IReplica[];
  /** Absolute path on the Jupyter server, when the file is at the notebook. */
  local_path: string | null;
}

/** Body of `GET instances/{i}/did/files`. */
export interface IDidFilesResponse {
  did: string;
  files: IDidFile[];
  next_cursor: string | null;
}

/**
 * Body of `GET instances/{i}/did/paths`. Asking brings the DID's own folder
 * (`data-lake/<scope>/<dataset>/` under Jupyter's root) in line with Rucio.
 */
export interface IDidPathsResponse {
  did: string;
  /**
   * File DID → the absolute path to open: its link in the DID's folder, or
   * the replica's own path when it has no link (see `folder_problem`).
   */
  paths: Record<string, string>;
  /** File DID → the replica's real path on the notebook's storage (Rucio's layout). */
  replica_paths?: Record<string, string>;
  /** File DIDs not (yet) at the notebook. */
  missing: string[];
  /** The DID's folder (absolute); without one, the replicas' common folder; null when no file is here. */
  directory: string | null;
  /** `directory` relative to Jupyter's root, for the file browser; null when outside it. */
  relative_directory?: string | null;
  /** In plain words, what kept files out of the DID's folder; null when nothing did. */
  folder_problem?: string | null;
}

/** Body of `POST instances/{i}/rules` (201 created, 200 existing). */
export interface IRuleCreated {
  rule: IRule;
  created: boolean;
  /** The existing rule was given the longer lifetime asked for. */
  extended?: boolean;
  /** Why the existing rule was kept as it is (the lake does not let users extend rules). */
  note?: string | null;
}

/** A size and a number of files. */
export interface IVolume {
  bytes: number;
  files: number;
}

/** The account's quota at one storage element, against what a rule needs. */
export interface IQuota {
  rse: string;
  used_bytes: number;
  /** null when unlimited; 0 when the account has no quota there. */
  limit_bytes: number | null;
  unlimited: boolean;
  needed_bytes: number;
  fits: boolean;
}

/** Why a make-available request would be refused. */
export interface IPreviewRefusal {
  reason: 'no_matching_rse' | 'embargoed' | 'quota_exceeded';
  /** In plain words, for the scientist. */
  message: string;
}

/**
 * What asking would do: create a rule, be refused, find the rule (long
 * enough already), extend it, or keep it as it is (the lake does not let
 * users extend rules).
 */
export type PreviewOutcome =
  'create' | 'refused' | 'exists' | 'extend' | 'keep';

/**
 * Body of `GET instances/{i}/rules/preview`: what making a DID available at
 * a target would do, known before the click. Changes nothing.
 */
export interface IRulePreview {
  did: string;
  type: string | null;
  target: ITarget;
  lifetime_days: number;
  /** Storage offering the target; empty: none. */
  rses: string[];
  size: IVolume;
  /** What is not at the target yet. */
  to_move: IVolume;
  quota: {
    /** Rucio charges the whole size, files already there included. */
    needed_bytes: number;
    fits: boolean;
    rses: IQuota[];
    message: string | null;
  };
  /** An embargo on the DID or a collection around it, in force for this account. */
  embargo: {
    /** ISO date; null when the value cannot be read. */
    until: string | null;
    /** The DID carrying the embargo (this one or a collection around it). */
    did: string;
    message: string;
  } | null;
  /** The account's rule for this DID and target, if any. */
  rule: IRule | null;
  outcome: PreviewOutcome;
  /** Why an existing rule would be kept as it is (outcome `keep`). */
  note: string | null;
  /** Why Rucio would refuse a new rule; empty with an existing rule. */
  refusals: IPreviewRefusal[];
}

/** A storage element with its QoS class. */
export interface IRse {
  name: string;
  qos_class: string | null;
  notebook_local: boolean;
}

/** A make-available target: `notebook` or a QoS class. */
export interface ITarget {
  id: string;
  label: string;
  rse_expression: string;
}

/** Body of `GET instances/{i}/rses`. */
export interface IRsesResponse {
  rses: IRse[];
  targets: ITarget[];
}

/** What the server knows about the credentials in use (never the token). */
export interface ITokenSummary {
  authenticated?: boolean;
  auth_type?: string | null;
  sub?: string | null;
  iss?: string | null;
  aud?: string[] | string | null;
  scope?: string | null;
  /** Expiry, seconds since the epoch. */
  exp?: number | null;
  /** Seconds left when the server answered. */
  expires_in?: number | null;
  /** Where the token was found, e.g. `file:/path` or `env:ACCESS_TOKEN`. */
  source?: string | null;
  /** Whether the server exchanged it for a Rucio token. */
  exchanged?: boolean;
  username?: string | null;
}

/** Body of `GET instances/{i}/whoami`. */
export interface IWhoAmI {
  instance: string;
  account: string;
  token: ITokenSummary;
}

/** A metadata key the catalogue uses, with the type of its values (upload form). */
export interface IMetadataKeyType {
  key: string;
  type: 'number' | 'date' | 'bool' | 'text';
}

/** Body of `GET instances/{i}/upload/options`. */
export interface IUploadOptions {
  account: string;
  /** Scopes the account may write into. */
  scopes: string[];
  default_scope: string | null;
  targets: { id: string; rse_expression: string }[];
  default_target: string | null;
  default_lifetime_days: number;
  max_lifetime_days: number;
  max_files: number;
  metadata_keys: IMetadataKeyType[];
}

/** What to upload (`POST upload/check` and `POST uploads`). */
export interface IUploadRequest {
  /** Files and folders, relative to Jupyter's root. */
  paths: string[];
  scope?: string;
  dataset?: string;
  target?: string;
  lifetime_days?: number;
  metadata?: Record<string, string | number | boolean>;
  metadata_on?: 'dataset' | 'files' | 'both';
  /** path -> an identical file DID already in the lake, attached instead of copied. */
  attach?: Record<string, string>;
}

/** One file in the answer of `POST upload/check`. */
export interface IUploadCheckFile {
  path: string;
  name: string;
  did: string;
  bytes: number;
  adler32: string;
  /** Files of the scope with the same size and adler32. */
  identical: string[];
  name_taken: boolean;
  taken_by_identical: boolean;
}

/** Body of `POST instances/{i}/upload/check`: nothing is changed. */
export interface IUploadCheck {
  scope: string;
  files: IUploadCheckFile[];
  skipped: string[];
  bytes: number;
  dataset: { did: string; exists: boolean; files: string[] } | null;
  target: string | null;
  rse: string | null;
  /** Why no storage of the target can take it (quota with numbers, not writable). */
  problem: IErrorResponse | null;
}

/** One file of an upload. */
export interface IUploadItem {
  path: string;
  did: string;
  bytes: number;
  adler32: string | null;
  action: 'upload' | 'attach';
  done_bytes: number;
  state: string;
}

/** An upload's progress and outcome (`uploads`, `uploads/{id}`). */
export interface IUpload {
  id: string;
  instance: string;
  state: 'RUNNING' | 'DONE' | 'FAILED' | 'CANCELLED';
  phase: 'copying' | 'registering' | 'finished';
  dataset: string;
  rse: string;
  target: string;
  error: string | null;
  reason: string | null;
  rule: {
    id: string;
    expires_at?: string | null;
    rse_expression?: string;
  } | null;
  note: string | null;
  left_behind: string[];
  files: { total: number; done: number; attached: number };
  bytes: { total: number; done: number };
  items: IUploadItem[];
  started_at: number;
  finished_at: number | null;
}

/** Kind of an ESAP basket item: a DID of the instance, another archive's item, or unreadable. */
export type BasketItemKind = 'rucio' | 'other' | 'malformed';

/** One item of the ESAP basket (`GET basket`), in basket order. */
export interface IBasketItem {
  index: number;
  kind: BasketItemKind;
  archive: string | null;
  did: string | null;
  label: string;
  /** Why the item cannot be read, or why Rucio does not know its DID. */
  problem: string | null;
  record: Record<string, unknown> | null;
  /** Rucio items only: */
  found?: boolean;
  type?: string | null;
  bytes?: number | null;
  length?: number | null;
  metadata?: Record<string, unknown>;
  availability?: IAvailability | null;
  embargo?: { did: string; until: string } | null;
}

/** The user's ESAP basket; `enabled` false where the site configured none. */
export interface IBasket {
  enabled: boolean;
  source: { kind: 'esap' | 'file' | 'url'; location: string } | null;
  note: string | null;
  instance?: string;
  truncated?: boolean;
  items: IBasketItem[];
  counts: { rucio: number; other: number; malformed: number };
  total_bytes: number;
  movable: number;
  bytes_to_move: number;
  unknown_sizes: number;
}

/** `GET instances/{i}/changes`: the account's rules Rucio updated since `since`. */
export interface IRuleChanges {
  /** Pass it back as `since` next time; null while the account has no rules. */
  since: string | null;
  rules: IRule[];
  /** The DIDs of those rules. */
  dids: string[];
}

/** One message of `GET instances/{i}/events` (server-sent events). */
export type IDataLakeEvent =
  | {
      /** Whether the server is connected to the instance's message broker. */
      type: 'stream';
      live: boolean;
    }
  | {
      /** Something happened to one of the user's own rules. */
      type: 'rule';
      /** Rucio's event: rule_ok, datasetlock_ok, transfer-done, ... */
      event: string;
      rule_id: string;
      /** The rule's DID. */
      did: string;
    };
