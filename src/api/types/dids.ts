/**
 * One DID: its availability at the notebook, details, files and local paths (`availability`, `did`, `did/files`, `did/paths`).
 *
 * Shapes of the REST API, mirroring escape_dlaas/web/openapi.yaml (field
 * names exactly as the server sends them). Types only, no code.
 */
import type { IRule } from './rules';

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
