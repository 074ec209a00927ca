/**
 * Identifiers and the interfaces the parts of the frontend share: plugin and
 * command ids, the model's token, the preferences, the panel's actions.
 *
 * The REST API's own shapes live in api/types.ts.
 */
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import { IAvailability, IRule, IStatusResponse } from './api/types';

/** The npm package name, prefix of every plugin, command and token id. */
export const EXTENSION_NAME = 'escape-dlaas';

/** Id of the main plugin; also the key of its settings (schema/plugin.json). */
export const PLUGIN_ID = 'escape-dlaas:plugin';

/** Gettext domain of the extension's own strings. */
export const TRANSLATION_DOMAIN = 'escape_dlaas';

/** DOM id of the left sidebar panel, also its ILayoutRestorer key. */
export const PANEL_ID = 'escape-dlaas-panel';

/** Command ids, as shown in the command palette and used by the UI tests. */
export namespace CommandIDs {
  export const openPanel = 'escape-dlaas:open-panel';
  export const refresh = 'escape-dlaas:refresh';
  export const search = 'escape-dlaas:search';
  export const makeAvailable = 'escape-dlaas:make-available';
  export const showDetails = 'escape-dlaas:show-details';
  export const openInFileBrowser = 'escape-dlaas:open-in-file-browser';
  export const copyPaths = 'escape-dlaas:copy-paths';
  export const insertPaths = 'escape-dlaas:insert-paths';
  export const openSettings = 'escape-dlaas:open-settings';
}

/** Key of the extension's entry in the IStateDB (watched DIDs, instance, last search). */
export const STATE_KEY = 'escape-dlaas:state';

/** User preferences from the Settings Editor (schema/plugin.json). */
export interface IDataLakePreferences {
  /** Seconds between two status (and watched-data) checks while the panel is visible. */
  pollInterval: number;
  /** Seconds between two checks of watched data while something is on its way. */
  transferPollInterval: number;
  /** Results asked for per search page. */
  searchPageSize: number;
  /** Instance to use by default; empty: the administrator's default. */
  defaultInstance: string;
  /** Default lifetime of new replication rules, in days. */
  defaultLifetimeDays: number;
  /** Default make-available target: `notebook` or a QoS class; empty: notebook-local. */
  defaultTarget: string;
}

/** Preferences used until the settings are loaded; same defaults as schema/plugin.json. */
export const DEFAULT_PREFERENCES: Readonly<IDataLakePreferences> = {
  pollInterval: 30,
  transferPollInterval: 5,
  searchPageSize: 100,
  defaultInstance: '',
  defaultLifetimeDays: 7,
  defaultTarget: ''
};

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
  /** The instance the panel works with: the user's pick, else the default. */
  readonly instanceName: string | null;
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

/** What the make-available dialog needs to know about the data. */
export interface IMakeAvailableItem {
  did: string;
  /** Total size, when known. */
  bytes: number | null;
  /** Number of files, when known. */
  length: number | null;
  availability: IAvailability | null;
}

/**
 * What the panel's buttons ask JupyterLab to do: dialogs, notifications, the
 * file browser, the clipboard, the active notebook. Components call it; the
 * plugin gives them DataLakeActions (actions.ts), tests a fake.
 */
export interface IDataLakeActions {
  /** Ask for a target and lifetime (showing how much data moves), then create the rule. */
  makeAvailable(item: IMakeAvailableItem): Promise<void>;
  /** Ask for a new lifetime, then change the rule. */
  extendRule(rule: IRule): Promise<void>;
  /** Confirm, then cancel the rule. */
  cancelRule(rule: IRule): Promise<void>;
  /** Show the folder of the DID's local files in the file browser. */
  openInFileBrowser(did: string): Promise<void>;
  /** Copy one path to the clipboard. */
  copyPath(path: string): void;
  /** Copy the DID's local folder (or its one file) to the clipboard. */
  copyPaths(did: string): Promise<void>;
  /** Copy the path of one of the DID's files: its link in the DID's folder, else `localPath`. */
  copyFilePath(did: string, fileDid: string, localPath: string): Promise<void>;
  /** Insert a cell defining the DID's local paths below the active cell of the active notebook. */
  insertSnippet(did: string): Promise<void>;
  /** Whether there is a notebook to insert code in. */
  readonly canInsertSnippet: boolean;
  /** Open the extension's settings. */
  openSettings(): void;
}
