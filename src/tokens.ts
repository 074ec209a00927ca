/**
 * Identifiers, REST response types and interfaces shared by the frontend.
 *
 * The response types mirror the server contract, escape_dlaas/openapi.yaml:
 * keep field names exactly as the server sends them.
 */
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

/** The npm package name, prefix of every plugin, command and token id. */
export const EXTENSION_NAME = 'escape-dlaas';

/** Id of the main plugin; also the key of its settings (schema/plugin.json). */
export const PLUGIN_ID = 'escape-dlaas:plugin';

/** Gettext domain of the extension's own strings. */
export const TRANSLATION_DOMAIN = 'escape_dlaas';

/** URL path segment under the server's base_url where the REST API lives. */
export const API_NAMESPACE = 'escape-dlaas';

/** DOM id of the left sidebar panel, also its ILayoutRestorer key. */
export const PANEL_ID = 'escape-dlaas-panel';

/** Command ids, as shown in the command palette and used by the UI tests. */
export namespace CommandIDs {
  export const openPanel = 'escape-dlaas:open-panel';
  export const refresh = 'escape-dlaas:refresh';
}

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
  /** Why Rucio could not be reached, in plain words; null when reachable. */
  error?: string | null;
}

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

/** User preferences from the Settings Editor (schema/plugin.json). */
export interface IDataLakePreferences {
  /** Seconds between two status checks while the panel is visible. */
  pollInterval: number;
  /** Instance to use by default; empty: the administrator's default. */
  defaultInstance: string;
  /** Default lifetime of new replication rules, in days. */
  defaultLifetimeDays: number;
  /** Default RSE expression for new replication rules; empty: the instance's. */
  defaultTarget: string;
}

/**
 * Where the frontend stands with the server extension.
 *
 * - `loading`: no answer yet.
 * - `ready`: the last status check succeeded.
 * - `server-missing`: the server extension is not installed or not enabled.
 * - `error`: the last status check failed for another reason.
 */
export type ConnectionState = 'loading' | 'ready' | 'server-missing' | 'error';

/** The Data Lake model other plugins can depend on. */
export interface IDataLakeModel {
  /** Version of this frontend (from package.json). */
  readonly frontendVersion: string;
  /** Last status received from the server, kept while later checks fail. */
  readonly status: IStatusResponse | null;
  readonly connectionState: ConnectionState;
  /** Message of the last failed check, for the scientist; null when ready. */
  readonly problem: string | null;
  /** When the last successful status check finished. */
  readonly lastChecked: Date | null;
  /** True when the server extension reports another version than this frontend. */
  readonly versionMismatch: boolean;
  /** The instance to use by default: the user's preference if configured, else the server's. */
  readonly defaultInstanceName: string | null;
  readonly preferences: IDataLakePreferences;
  /** Emitted whenever any of the above changes. */
  readonly changed: ISignal<IDataLakeModel, void>;
  /** Check the status now, even if the panel is hidden; resolves when done. */
  refresh(): Promise<void>;
}

/** Token of the Data Lake model, provided by the main plugin. */
export const IDataLakeModel = new Token<IDataLakeModel>(
  'escape-dlaas:IDataLakeModel',
  'The Data Lake model: status of the configured Rucio instances and user preferences.'
);
