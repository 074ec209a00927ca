import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { DataLakeRequestError, toRequestError } from '../api/request';
import { IDidDetails, IDidFile } from '../api/types';

/** Files asked for per page in the details view. */
export const FILES_PAGE_SIZE = 50;

export type LoadState = 'idle' | 'loading' | 'ready' | 'error';

/**
 * The DID whose details are shown: metadata, rules, availability, and its
 * files paged in with the server's cursor. Fetched when opened and when
 * asked (refresh, a rule changed, the watched availability changed); never polled.
 */
export class DetailsModel implements IDisposable {
  constructor(options: DetailsModel.IOptions) {
    this._api = options.api;
    this._onError = options.onError;
    this._onSuccess = options.onSuccess;
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Instance of the DID shown, or null when none. */
  get instance(): string | null {
    return this._instance;
  }

  /** The DID shown (`scope:name`), or null when none. */
  get did(): string | null {
    return this._did;
  }

  get state(): LoadState {
    return this._state;
  }

  get details(): IDidDetails | null {
    return this._details;
  }

  get error(): DataLakeRequestError | null {
    return this._error;
  }

  get files(): readonly IDidFile[] {
    return this._files;
  }

  get filesState(): LoadState {
    return this._filesState;
  }

  get filesError(): DataLakeRequestError | null {
    return this._filesError;
  }

  get hasMoreFiles(): boolean {
    return this._filesCursor !== null;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Show a DID: fetch its details and first page of files. */
  async open(instance: string, did: string): Promise<void> {
    if (this._instance !== instance || this._did !== did) {
      this._instance = instance;
      this._did = did;
      this._details = null;
      this._files = [];
      this._filesCursor = null;
    }
    await this.refresh();
  }

  /** Show nothing. */
  close(): void {
    this._generation++;
    this._instance = null;
    this._did = null;
    this._details = null;
    this._error = null;
    this._files = [];
    this._filesCursor = null;
    this._state = 'idle';
    this._filesState = 'idle';
    this._changed.emit();
  }

  /** Fetch the details and the first page of files again (kept on screen meanwhile). */
  async refresh(): Promise<void> {
    const instance = this._instance;
    const did = this._did;
    if (instance === null || did === null) {
      return;
    }
    const generation = ++this._generation;
    this._state = 'loading';
    this._filesState = 'loading';
    this._changed.emit();
    await Promise.all([
      this._loadDetails(instance, did, generation),
      this._loadFiles(instance, did, null, generation)
    ]);
  }

  /** Fetch again if one of these DIDs is shown (its availability or a rule changed). */
  refreshIfShown(dids: { instance: string; did: string }[]): void {
    if (
      dids.some(
        ({ instance, did }) => instance === this._instance && did === this._did
      )
    ) {
      void this.refresh();
    }
  }

  /** The next page of files. */
  async loadMoreFiles(): Promise<void> {
    if (
      this._instance === null ||
      this._did === null ||
      this._filesCursor === null ||
      this._filesState === 'loading'
    ) {
      return;
    }
    this._filesState = 'loading';
    this._changed.emit();
    await this._loadFiles(
      this._instance,
      this._did,
      this._filesCursor,
      this._generation
    );
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private async _loadDetails(
    instance: string,
    did: string,
    generation: number
  ): Promise<void> {
    try {
      const details = await this._api.did(instance, did);
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._details = details;
      this._error = null;
      this._state = 'ready';
      this._onSuccess?.(instance);
    } catch (reason) {
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._error = toRequestError(reason);
      this._state = 'error';
      this._onError?.(instance, this._error);
    }
    this._changed.emit();
  }

  private async _loadFiles(
    instance: string,
    did: string,
    cursor: string | null,
    generation: number
  ): Promise<void> {
    try {
      const page = await this._api.didFiles(instance, did, {
        cursor,
        pageSize: FILES_PAGE_SIZE
      });
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._files =
        cursor === null ? page.files : [...this._files, ...page.files];
      this._filesCursor = page.next_cursor;
      this._filesError = null;
      this._filesState = 'ready';
    } catch (reason) {
      if (generation !== this._generation || this._isDisposed) {
        return;
      }
      this._filesError = toRequestError(reason);
      this._filesState = 'error';
      this._onError?.(instance, this._filesError);
    }
    this._changed.emit();
  }

  private _api: DataLakeAPI;
  private _changed = new Signal<this, void>(this);
  private _details: IDidDetails | null = null;
  private _did: string | null = null;
  private _error: DataLakeRequestError | null = null;
  private _files: IDidFile[] = [];
  private _filesCursor: string | null = null;
  private _filesError: DataLakeRequestError | null = null;
  private _filesState: LoadState = 'idle';
  private _generation = 0;
  private _instance: string | null = null;
  private _isDisposed = false;
  private _onError?: (instance: string, error: DataLakeRequestError) => void;
  private _onSuccess?: (instance: string) => void;
  private _state: LoadState = 'idle';
}

export namespace DetailsModel {
  export interface IOptions {
    api: DataLakeAPI;
    onError?: (instance: string, error: DataLakeRequestError) => void;
    onSuccess?: (instance: string) => void;
  }
}
