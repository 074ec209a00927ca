import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { toRequestError } from '../api/request';
import { IMetadataKeyType, IUpload } from '../api/types';

/** Milliseconds between two progress checks of a running upload. */
export const UPLOAD_POLL_MS = 1000;

/**
 * The uploads started from this page: each is followed (its progress asked
 * every second) until it ends, and every change is signalled.
 */
export class UploadsModel implements IDisposable {
  constructor(options: UploadsModel.IOptions) {
    this._api = options.api;
    this._pollMs = options.pollMs ?? UPLOAD_POLL_MS;
  }

  /** Emitted with an upload's latest state (started, progress, outcome). */
  get uploadChanged(): ISignal<this, IUpload> {
    return this._uploadChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Follow an upload the server started, until it ends. */
  follow(upload: IUpload): void {
    this._uploadChanged.emit(upload);
    if (upload.state === 'RUNNING') {
      this._schedule(upload);
    }
  }

  /** Ask the server to cancel it; the outcome comes through `uploadChanged`. */
  async cancel(upload: IUpload): Promise<void> {
    const answer = await this._api.cancelUpload(upload.instance, upload.id);
    this._uploadChanged.emit(answer);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    for (const timer of this._timers.values()) {
      clearTimeout(timer);
    }
    this._timers.clear();
    Signal.clearData(this);
  }

  private _schedule(upload: IUpload): void {
    this._timers.set(
      upload.id,
      setTimeout(() => void this._poll(upload), this._pollMs)
    );
  }

  private async _poll(upload: IUpload): Promise<void> {
    this._timers.delete(upload.id);
    if (this._isDisposed) {
      return;
    }
    let latest: IUpload;
    try {
      latest = await this._api.upload(upload.instance, upload.id);
    } catch (reason) {
      const error = toRequestError(reason);
      if (error.status === 404) {
        // The server restarted: the upload's outcome is lost, say so.
        this._uploadChanged.emit({
          ...upload,
          state: 'FAILED',
          phase: 'finished',
          error: error.message
        });
        return;
      }
      this._schedule(upload); // a passing failure: ask again
      return;
    }
    if (this._isDisposed) {
      return;
    }
    this._uploadChanged.emit(latest);
    if (latest.state === 'RUNNING') {
      this._schedule(latest);
    }
  }

  private _api: DataLakeAPI;
  private _isDisposed = false;
  private _pollMs: number;
  private _timers = new Map<string, ReturnType<typeof setTimeout>>();
  private _uploadChanged = new Signal<this, IUpload>(this);
}

export namespace UploadsModel {
  export interface IOptions {
    api: DataLakeAPI;
    /** Milliseconds between two progress checks (default 1000). */
    pollMs?: number;
  }
}

/** Characters Rucio takes in a name: letters, digits, '.', '-', '_'. */
const NAME_CHARACTER = /[A-Za-z0-9._-]/;

/**
 * A dataset name proposed for what was chosen: the folder's (or the first
 * file's, without extension) name, with characters Rucio refuses made '_'.
 */
export function proposedDatasetName(paths: string[]): string {
  const first = (paths[0] ?? '').replace(/\/+$/, '');
  const last = first.split('/').pop() ?? '';
  const stem =
    paths.length === 1 && last.includes('.')
      ? last.replace(/\.[^.]*$/, '')
      : last;
  const cleaned = Array.from(stem)
    .map(c => (NAME_CHARACTER.test(c) ? c : '_'))
    .join('')
    .replace(/^[._-]+/, '');
  return cleaned || 'upload';
}

/** A metadata row of the form, as typed. */
export interface IMetadataRow {
  key: string;
  value: string;
}

/** What is wrong with a value of a key of that type, or null when it is fine. */
export function metadataValueProblem(
  type: IMetadataKeyType['type'],
  value: string,
  trans: TranslationBundle
): string | null {
  const text = value.trim();
  if (!text) {
    return trans.__('Give a value, or remove the row.');
  }
  if (type === 'number') {
    return /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)
      ? null
      : trans.__('A number, e.g. 150 or 1.5e3.');
  }
  if (type === 'date') {
    const match = /^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2})?)?$/.exec(
      text
    );
    if (!match) {
      return trans.__('A date such as 2025-02-03.');
    }
    const day = new Date(
      Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))
    );
    return day.getUTCDate() === Number(match[3]) &&
      day.getUTCMonth() === Number(match[2]) - 1
      ? null
      : trans.__('Not a calendar date.');
  }
  if (type === 'bool') {
    return ['true', 'false'].includes(text.toLowerCase())
      ? null
      : trans.__('true or false.');
  }
  return null;
}

/** What is wrong with a key (letters, digits and '_', no '.'), or null. */
export function metadataKeyProblem(
  key: string,
  trans: TranslationBundle
): string | null {
  return /^[A-Za-z_][A-Za-z0-9_]{0,99}$/.test(key.trim())
    ? null
    : trans.__("Letters, digits and '_', starting with a letter.");
}

/**
 * The rows as metadata to send, typed as the catalogue types the keys, and
 * the problems by row index (empty rows are ignored).
 */
export function typedMetadata(
  rows: IMetadataRow[],
  types: IMetadataKeyType[],
  trans: TranslationBundle
): {
  metadata: Record<string, string | number | boolean>;
  problems: Map<number, string>;
} {
  const typeOf = new Map(types.map(t => [t.key, t.type]));
  const metadata: Record<string, string | number | boolean> = {};
  const problems = new Map<number, string>();
  rows.forEach((row, index) => {
    const key = row.key.trim();
    if (!key && !row.value.trim()) {
      return;
    }
    const type = typeOf.get(key) ?? 'text';
    const problem =
      metadataKeyProblem(key, trans) ??
      (key in metadata ? trans.__('This key is there twice.') : null) ??
      metadataValueProblem(type, row.value, trans);
    if (problem) {
      problems.set(index, problem);
      return;
    }
    const text = row.value.trim();
    metadata[key] =
      type === 'number'
        ? Number(text)
        : type === 'bool'
          ? text.toLowerCase() === 'true'
          : text;
  });
  return { metadata, problems };
}
