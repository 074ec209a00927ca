/**
 * The server extension's status, the credentials in use, and its error answers (`GET /escape-dlaas/status`, `whoami`).
 *
 * Shapes of the REST API, mirroring escape_dlaas/web/openapi.yaml (field
 * names exactly as the server sends them). Types only, no code.
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
