/**
 * The data a notebook carries: the shape kept in the notebook's metadata
 * under one key, read defensively (a notebook may come from anywhere: an
 * older version, another tool, a hand edit) and written in its current shape.
 *
 * ```json
 * "escape-dlaas": {
 *   "version": 1,
 *   "attachments": [
 *     {"kind": "did", "instance": "escape", "did": "lofar:L2023_712342_HBA"},
 *     {"kind": "query", "instance": "escape", "pattern": "*", "filters": "telescope=lofar",
 *      "scope": "", "type": "dataset",
 *      "resolved": {"dids": ["lofar:..."], "at": "2026-12-02T13:00:00Z", "truncated": false}}
 *   ]
 * }
 * ```
 *
 * The kernel side (escape_dlaas/notebook/attachments.py) reads the same shape.
 */
import { DidTypeFilter } from '../api/types';

/** The notebook metadata key of everything escape-dlaas keeps in a notebook. */
export const METADATA_KEY = 'escape-dlaas';

/** Version of the shape written; a notebook with a newer one is read but not rewritten. */
export const METADATA_VERSION = 1;

/** Type filters a query attachment may carry (the search form's). */
const DID_TYPES: readonly DidTypeFilter[] = [
  'all',
  'collection',
  'dataset',
  'container',
  'file'
];

/** One DID attached to the notebook. */
export interface IDidAttachment {
  kind: 'did';
  /** The instance it was attached from (its name on the server that attached it). */
  instance: string;
  did: string;
}

/** The DIDs a query found the last time it was resolved. */
export interface IResolvedQuery {
  dids: string[];
  /** ISO date-time of the search. */
  at: string;
  /** Whether the search found more than was kept. */
  truncated: boolean;
}

/** A saved metadata search attached to the notebook, resolved again on demand. */
export interface IQueryAttachment {
  kind: 'query';
  instance: string;
  /** Name pattern with `*` wildcards, optionally `scope:pattern`; '' for any. */
  pattern: string;
  /** Metadata filter in the panel's text form, e.g. `telescope=lofar,energy>5`. */
  filters: string;
  /** One scope, or '' for all. */
  scope: string;
  type: DidTypeFilter;
  /** The last resolution; null before any. */
  resolved: IResolvedQuery | null;
}

export type Attachment = IDidAttachment | IQueryAttachment;

/** What the metadata key holds. */
export interface INotebookAttachments {
  version: number;
  attachments: Attachment[];
}

/** The attachments found in a notebook's metadata value, and what was wrong with it. */
export interface IReadAttachments {
  attachments: Attachment[];
  /** Version found (METADATA_VERSION when there was nothing). */
  version: number;
  /** Entries left out because they could not be read. */
  skipped: number;
}

/** The most DIDs a resolved query keeps in the notebook. */
export const MAX_RESOLVED_DIDS = 500;

/** An identity of an attachment: the same DID or query is attached once. */
export function attachmentKey(attachment: Attachment): string {
  if (attachment.kind === 'did') {
    return `did\u0000${attachment.instance}\u0000${attachment.did}`;
  }
  const { instance, pattern, filters, scope, type } = attachment;
  return ['query', instance, pattern, filters, scope, type].join('\u0000');
}

/** A short description of an attachment, for lists and messages. */
export function describeQuery(query: IQueryAttachment): string {
  const parts = [
    query.scope
      ? `${query.scope}:${query.pattern || '*'}`
      : query.pattern || '*'
  ];
  if (query.filters) {
    parts.push(query.filters);
  }
  if (query.type !== 'all') {
    parts.push(query.type);
  }
  return parts.join(' · ');
}

/** The DIDs an attachment stands for: its DID, or what its query found last. */
export function attachmentDids(attachment: Attachment): string[] {
  if (attachment.kind === 'did') {
    return [attachment.did];
  }
  return attachment.resolved?.dids ?? [];
}

function isText(value: unknown): value is string {
  return typeof value === 'string';
}

function readResolved(value: unknown): IResolvedQuery | null {
  if (!value || typeof value !== 'object') {
    return null;
  }
  const { dids, at, truncated } = value as Record<string, unknown>;
  if (!Array.isArray(dids) || !dids.every(isText)) {
    return null;
  }
  return {
    dids: dids.slice(0, MAX_RESOLVED_DIDS),
    at: isText(at) ? at : '',
    truncated: truncated === true || dids.length > MAX_RESOLVED_DIDS
  };
}

function readOne(value: unknown): Attachment | null {
  if (!value || typeof value !== 'object') {
    return null;
  }
  const entry = value as Record<string, unknown>;
  const instance = isText(entry.instance) ? entry.instance : '';
  if (entry.kind === 'did') {
    return isText(entry.did) && entry.did.includes(':')
      ? { kind: 'did', instance, did: entry.did }
      : null;
  }
  if (entry.kind === 'query') {
    const type = DID_TYPES.includes(entry.type as DidTypeFilter)
      ? (entry.type as DidTypeFilter)
      : 'all';
    const query: IQueryAttachment = {
      kind: 'query',
      instance,
      pattern: isText(entry.pattern) ? entry.pattern : '',
      filters: isText(entry.filters) ? entry.filters : '',
      scope: isText(entry.scope) ? entry.scope : '',
      type,
      resolved: readResolved(entry.resolved)
    };
    return query;
  }
  return null;
}

/** Read the metadata value under METADATA_KEY (anything, or undefined). */
export function readAttachments(value: unknown): IReadAttachments {
  if (value === undefined || value === null) {
    return { attachments: [], version: METADATA_VERSION, skipped: 0 };
  }
  const record =
    typeof value === 'object' ? (value as Record<string, unknown>) : {};
  const version =
    typeof record.version === 'number' ? record.version : METADATA_VERSION;
  const entries = Array.isArray(record.attachments) ? record.attachments : [];
  const attachments: Attachment[] = [];
  const seen = new Set<string>();
  let skipped = Array.isArray(record.attachments) ? 0 : 1;
  for (const entry of entries) {
    const attachment = readOne(entry);
    if (attachment === null) {
      skipped++;
    } else if (!seen.has(attachmentKey(attachment))) {
      seen.add(attachmentKey(attachment));
      attachments.push(attachment);
    }
  }
  return { attachments, version, skipped };
}

/** The metadata value to write for these attachments. */
export function attachmentsValue(
  attachments: Attachment[]
): INotebookAttachments {
  return {
    version: METADATA_VERSION,
    attachments: attachments.map(attachment =>
      attachment.kind === 'did'
        ? { kind: 'did', instance: attachment.instance, did: attachment.did }
        : {
            kind: 'query',
            instance: attachment.instance,
            pattern: attachment.pattern,
            filters: attachment.filters,
            scope: attachment.scope,
            type: attachment.type,
            resolved: attachment.resolved
              ? {
                  dids: attachment.resolved.dids.slice(0, MAX_RESOLVED_DIDS),
                  at: attachment.resolved.at,
                  truncated: attachment.resolved.truncated
                }
              : null
          }
    )
  };
}

/** The list with `attachment` added at the end, or replacing the one with its key. */
export function withAttachment(
  attachments: Attachment[],
  attachment: Attachment
): Attachment[] {
  const key = attachmentKey(attachment);
  const index = attachments.findIndex(one => attachmentKey(one) === key);
  if (index < 0) {
    return [...attachments, attachment];
  }
  const copy = [...attachments];
  copy[index] = attachment;
  return copy;
}

/** The list without the attachment of that key. */
export function withoutAttachment(
  attachments: Attachment[],
  key: string
): Attachment[] {
  return attachments.filter(one => attachmentKey(one) !== key);
}
