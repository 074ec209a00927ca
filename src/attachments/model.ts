import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { toRequestError } from '../api/request';
import { IAvailability, ITarget } from '../api/types';
import { parseFilterString } from '../filters/text';
import { DataLakeModel } from '../models/datalake';
import {
  IMakeAllResult,
  IPendingTotals,
  makeEachAvailable,
  pendingTotals
} from '../models/makeAll';
import {
  Attachment,
  attachmentDids,
  attachmentKey,
  attachmentsValue,
  IQueryAttachment,
  MAX_RESOLVED_DIDS,
  METADATA_KEY,
  METADATA_VERSION,
  readAttachments,
  withAttachment,
  withoutAttachment
} from './metadata';

/**
 * The open notebook as the attachments see it: its path and its metadata.
 * The plugin adapts a NotebookPanel to it; tests give a plain object.
 */
export interface IAttachmentsDocument {
  /** Path of the notebook, relative to Jupyter's root. */
  readonly path: string;
  getMetadata(key: string): unknown;
  setMetadata(key: string, value: unknown): void;
  /** Emitted when the notebook's metadata changes (by anyone). */
  readonly metadataChanged: ISignal<unknown, unknown>;
}

/**
 * Add an attachment to a notebook's metadata (any notebook, e.g. one whose
 * kernel asked); false when it was there already or the notebook was written
 * by a newer version.
 */
export function addToDocument(
  document: IAttachmentsDocument,
  attachment: Attachment
): boolean {
  const read = readAttachments(document.getMetadata(METADATA_KEY) ?? undefined);
  const key = attachmentKey(attachment);
  if (
    read.version > METADATA_VERSION ||
    read.attachments.some(one => attachmentKey(one) === key)
  ) {
    return false;
  }
  document.setMetadata(
    METADATA_KEY,
    attachmentsValue([...read.attachments, attachment])
  );
  return true;
}

/** A search to attach: the search form's fields. */
export interface IQueryFields {
  pattern: string;
  filters: string;
  scope: string;
  type: IQueryAttachment['type'];
}

/** One DID the notebook carries, with what the panel knows of it. */
export interface IAttachedDid {
  instance: string;
  did: string;
  /** From the watch model's bulk poll; null before its first check. */
  availability: IAvailability | null;
}

/**
 * The data attached to the active notebook: read from and written to its
 * metadata (METADATA_KEY), the availability of each DID through the panel's
 * WatchModel (one bulk poll for everything watched), make-all-available
 * through the panel's TransfersModel, and query attachments resolved again
 * by a search when the user asks.
 *
 * The notebook's document stays the owner of the metadata: every change is
 * written into it (marking the notebook dirty, saved by the user as any edit)
 * and every change made to it by others (another view, a reload, the kernel
 * API through the frontend) is read back.
 */
export class AttachmentsModel implements IDisposable {
  constructor(options: AttachmentsModel.IOptions) {
    this._lake = options.lake;
    this._api = options.api;
    this._pageSize = options.pageSize ?? 100;
    this._lake.watch.changed.connect(this._emitChanged, this);
    // The instances become known with the first status: watch then.
    this._lake.changed.connect(this._onLakeChanged, this);
  }

  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** The notebook shown; null when the active widget is no notebook. */
  get document(): IAttachmentsDocument | null {
    return this._document;
  }

  set document(document: IAttachmentsDocument | null) {
    if (document === this._document) {
      return;
    }
    this._document?.metadataChanged.disconnect(this._onMetadata, this);
    this._document = document;
    document?.metadataChanged.connect(this._onMetadata, this);
    this._errors.clear();
    this._ensured.clear();
    this._read();
  }

  /** The notebook's attachments, in the order attached. */
  get attachments(): Attachment[] {
    return this._attachments;
  }

  /** Entries of the metadata that could not be read (kept out, and rewritten without them). */
  get skipped(): number {
    return this._skipped;
  }

  /** Whether the notebook was written by a newer version: shown, never rewritten. */
  get readOnly(): boolean {
    return this._version > METADATA_VERSION;
  }

  /** The instance an attachment is resolved at: its own when configured here, else the panel's. */
  instanceFor(attachment: Attachment): string | null {
    const known = this._lake.connection.instances.some(
      instance => instance.name === attachment.instance
    );
    return known ? attachment.instance : this._lake.instanceName;
  }

  /** The DIDs an attachment stands for, with their availability. */
  didsOf(attachment: Attachment): IAttachedDid[] {
    const instance = this.instanceFor(attachment);
    if (instance === null) {
      return [];
    }
    return attachmentDids(attachment).map(did => ({
      instance,
      did,
      availability: this._lake.watch.get(instance, did)?.availability ?? null
    }));
  }

  /** Every DID the notebook carries, once each. */
  get dids(): IAttachedDid[] {
    const seen = new Set<string>();
    const all: IAttachedDid[] = [];
    for (const attachment of this._attachments) {
      for (const entry of this.didsOf(attachment)) {
        const key = `${entry.instance}\u0000${entry.did}`;
        if (!seen.has(key)) {
          seen.add(key);
          all.push(entry);
        }
      }
    }
    return all;
  }

  /** What "make all available" would move; sizes from the availability. */
  get totals(): IPendingTotals<IAttachedDid> {
    return pendingTotals(
      this.dids,
      entry => entry.availability?.bytes.total ?? null
    );
  }

  /** The last error of resolving a query attachment or of writing, per attachment key. */
  errorOf(key: string): string | null {
    return this._errors.get(key) ?? null;
  }

  /** Whether a query attachment is being resolved. */
  isResolving(key: string): boolean {
    return this._resolving.has(key);
  }

  /**
   * Attach a DID (at the panel's instance unless given); false when it was
   * attached already.
   *
   * @throws {Error} without a notebook, or when the notebook was written by a newer version.
   */
  attachDid(did: string, instance?: string): boolean {
    const name = this._instanceOrThrow(instance);
    const text = did.trim();
    if (!/^[^:\s]+:\S/.test(text)) {
      throw new Error(
        `"${did}" is not a data identifier: write it as scope:name.`
      );
    }
    return this._add({ kind: 'did', instance: name, did: text });
  }

  /**
   * Attach a saved search; it is resolved at once (its DIDs are kept in the
   * notebook with it). False when that search was attached already.
   */
  async attachQuery(fields: IQueryFields, instance?: string): Promise<boolean> {
    const name = this._instanceOrThrow(instance);
    // Refuse a filter the server would refuse, before it lands in the notebook.
    parseFilterString(fields.filters);
    const query: IQueryAttachment = {
      kind: 'query',
      instance: name,
      pattern: fields.pattern.trim(),
      filters: fields.filters.trim(),
      scope: fields.scope,
      type: fields.type,
      resolved: null
    };
    const added = this._add(query);
    if (added) {
      await this.resolve(attachmentKey(query));
    }
    return added;
  }

  /** Remove an attachment from the notebook (its data stays where it is). */
  detach(key: string): void {
    this._write(withoutAttachment(this._attachments, key));
  }

  /**
   * Search again for a query attachment's DIDs (up to MAX_RESOLVED_DIDS)
   * and keep them in the notebook. A failure is kept in `errorOf(key)`.
   */
  async resolve(key: string): Promise<void> {
    const query = this._attachments.find(
      one => one.kind === 'query' && attachmentKey(one) === key
    ) as IQueryAttachment | undefined;
    const instance = query ? this.instanceFor(query) : null;
    if (!query || instance === null || this._resolving.has(key)) {
      return;
    }
    this._resolving.add(key);
    this._errors.delete(key);
    this._changed.emit();
    const document = this._document;
    try {
      const filters = parseFilterString(query.filters);
      const dids: string[] = [];
      let cursor: string | null = null;
      let truncated = false;
      do {
        const page = await this._api.search(
          instance,
          {
            pattern: query.pattern,
            scope: query.scope,
            type: query.type,
            filters
          },
          { cursor, pageSize: this._pageSize, details: 'names' }
        );
        dids.push(...page.items.map(item => item.did));
        cursor = page.next_cursor;
        truncated = page.truncated === true;
      } while (cursor !== null && dids.length < MAX_RESOLVED_DIDS);
      if (document !== this._document) {
        return; // another notebook meanwhile
      }
      const current = this._attachments.find(one => attachmentKey(one) === key);
      if (current?.kind !== 'query') {
        return; // detached meanwhile
      }
      this._write(
        withAttachment(this._attachments, {
          ...current,
          resolved: {
            dids: dids.slice(0, MAX_RESOLVED_DIDS),
            at: new Date().toISOString(),
            truncated:
              truncated || cursor !== null || dids.length > MAX_RESOLVED_DIDS
          }
        })
      );
    } catch (reason) {
      this._errors.set(key, toRequestError(reason).message);
    } finally {
      this._resolving.delete(key);
      this._changed.emit();
    }
  }

  /**
   * Make every attached DID that is not at the notebook yet available at
   * `target`: one rule each, through the panel's transfers (which notify
   * their progress). A refusal of one does not stop the others.
   */
  async makeAllAvailable(
    target: ITarget,
    lifetimeDays: number,
    entries: IAttachedDid[] = this.totals.pending
  ): Promise<IMakeAllResult> {
    return makeEachAvailable(this._lake, entries, target, lifetimeDays);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._document?.metadataChanged.disconnect(this._onMetadata, this);
    this._lake.watch.changed.disconnect(this._emitChanged, this);
    this._lake.changed.disconnect(this._onLakeChanged, this);
    Signal.clearData(this);
  }

  private _instanceOrThrow(instance?: string): string {
    if (this._document === null) {
      throw new Error('Open a notebook first: data is attached to a notebook.');
    }
    if (this.readOnly) {
      throw new Error(
        'This notebook was saved by a newer version of escape-dlaas: its attachments are shown but not changed here.'
      );
    }
    const name = instance ?? this._lake.instanceName;
    if (name === null) {
      throw new Error('No Rucio instance is available yet.');
    }
    return name;
  }

  private _add(attachment: Attachment): boolean {
    const added = addToDocument(this._document!, attachment);
    // Some documents signal only later: read back at once.
    this._read();
    return added;
  }

  /** Write the list into the notebook's metadata; reading it back follows from the signal. */
  private _write(attachments: Attachment[]): void {
    if (this._document === null || this.readOnly) {
      return;
    }
    this._document.setMetadata(METADATA_KEY, attachmentsValue(attachments));
    // Some documents signal only later (or not for a value equal in JSON).
    this._read();
  }

  private _onMetadata(): void {
    this._read();
  }

  /** Read the attachments from the notebook; watch their DIDs. */
  private _read(): void {
    const read = readAttachments(
      this._document?.getMetadata(METADATA_KEY) ?? undefined
    );
    this._attachments = read.attachments;
    this._skipped = read.skipped;
    this._version = read.version;
    this._watchDids();
    this._changed.emit();
  }

  /**
   * Watch each DID of the notebook once (its availability then comes with
   * the panel's bulk poll); one the user stops watching is not watched again
   * until the notebook is opened again.
   */
  private _watchDids(): void {
    let added = false;
    for (const entry of this.dids) {
      const key = `${entry.instance}\u0000${entry.did}`;
      if (this._ensured.has(key)) {
        continue;
      }
      this._ensured.add(key);
      if (!this._lake.watch.has(entry.instance, entry.did)) {
        this._lake.watch.watch(entry.instance, entry.did);
        added = true;
      }
    }
    if (added) {
      void this._lake.watch.refresh();
    }
  }

  private _onLakeChanged(): void {
    this._watchDids();
    this._changed.emit();
  }

  private _emitChanged(): void {
    this._changed.emit();
  }

  private _api: DataLakeAPI;
  private _attachments: Attachment[] = [];
  private _changed = new Signal<this, void>(this);
  private _document: IAttachmentsDocument | null = null;
  /** DIDs (instance and DID) watched for the current notebook already. */
  private _ensured = new Set<string>();
  private _errors = new Map<string, string>();
  private _isDisposed = false;
  private _lake: DataLakeModel;
  private _pageSize: number;
  private _resolving = new Set<string>();
  private _skipped = 0;
  private _version = METADATA_VERSION;
}

export namespace AttachmentsModel {
  export interface IOptions {
    /** The Data Lake panel's model: instances, watch, transfers. */
    lake: DataLakeModel;
    /** The REST API, for resolving query attachments. */
    api: DataLakeAPI;
    /** Results asked for per search page when resolving a query. */
    pageSize?: number;
  }
}
