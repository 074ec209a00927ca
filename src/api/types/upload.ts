/**
 * Uploading files to the lake (`upload/options`, `upload/check`, `uploads`).
 *
 * Shapes of the REST API, mirroring escape_dlaas/web/openapi.yaml (field
 * names exactly as the server sends them). Types only, no code.
 */
import type { IErrorResponse } from './status';

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
  /** null when the check had no time to checksum it (then listed in `not_compared`). */
  adler32: string | null;
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
  /** Files too large to checksum within the request's time: not compared, uploaded as new files. */
  not_compared: string[];
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
