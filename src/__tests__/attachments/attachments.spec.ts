import { ISignal, Signal } from '@lumino/signaling';

import {
  attachmentKey,
  attachmentsValue,
  METADATA_KEY,
  readAttachments,
  withAttachment,
  withoutAttachment
} from '../../attachments/metadata';
import {
  addToDocument,
  AttachmentsModel,
  IAttachmentsDocument
} from '../../attachments/model';
import { summarisePreviews } from '../../attachments/MakeAllDialog';
import { DataLakeAPI } from '../../api/client';
import { DataLakeModel } from '../../models/datalake';
import { until } from '../async';
import {
  availability,
  errorResponse,
  FakeLake,
  INSTANCE,
  TARGETS
} from '../fakeLake';

const DID = 'lofar:L2023_712342_HBA';
const OTHER = 'lofar:L2023_712343_HBA';

/** What the kernel side reads (tests/unit/notebook/test_attachments.py holds the same). */
const FRONTEND_VALUE = {
  version: 1,
  attachments: [
    { kind: 'did', instance: 'local-lake', did: DID },
    {
      kind: 'query',
      instance: 'local-lake',
      pattern: '',
      filters: 'telescope=lofar',
      scope: 'lofar',
      type: 'dataset',
      resolved: {
        dids: [DID, OTHER],
        at: '2026-12-02T13:00:00.000Z',
        truncated: false
      }
    }
  ]
};

/** A notebook's metadata, as INotebookModel keeps it. */
class FakeDocument implements IAttachmentsDocument {
  path = 'analysis.ipynb';
  metadata = new Map<string, unknown>();
  changes = new Signal<this, unknown>(this);

  get metadataChanged(): ISignal<unknown, unknown> {
    return this.changes;
  }

  getMetadata(key: string): unknown {
    return this.metadata.get(key);
  }

  setMetadata(key: string, value: unknown): void {
    // The notebook model keeps a copy, as JSON.
    this.metadata.set(key, JSON.parse(JSON.stringify(value)));
    this.changes.emit(key);
  }
}

describe('attachment metadata', () => {
  it('reads the shape the kernel side reads, and writes it back unchanged', () => {
    const read = readAttachments(FRONTEND_VALUE);
    expect(read.skipped).toBe(0);
    expect(read.version).toBe(1);
    expect(read.attachments.map(one => one.kind)).toEqual(['did', 'query']);
    expect(attachmentsValue(read.attachments)).toEqual(FRONTEND_VALUE);
  });

  it('leaves out what it cannot read, counts it, and reads duplicates once', () => {
    const read = readAttachments({
      version: 1,
      attachments: [
        { kind: 'did', instance: 'x', did: DID },
        { kind: 'did', instance: 'x', did: DID },
        { kind: 'did', did: 'no-scope' },
        'text',
        { kind: 'query', type: 'galaxy', resolved: { dids: [1] } }
      ]
    });
    expect(read.skipped).toBe(2);
    expect(read.attachments).toEqual([
      { kind: 'did', instance: 'x', did: DID },
      {
        kind: 'query',
        instance: '',
        pattern: '',
        filters: '',
        scope: '',
        type: 'all',
        resolved: null
      }
    ]);
    expect(readAttachments(undefined).attachments).toEqual([]);
    expect(readAttachments('nonsense').skipped).toBe(1);
  });

  it('adds, replaces and removes by key', () => {
    const did = { kind: 'did' as const, instance: INSTANCE, did: DID };
    const list = withAttachment([], did);
    expect(withAttachment(list, { ...did })).toEqual(list);
    const other = { ...did, did: OTHER };
    expect(withAttachment(list, other)).toEqual([did, other]);
    expect(withoutAttachment([did, other], attachmentKey(did))).toEqual([
      other
    ]);
  });
});

describe('AttachmentsModel', () => {
  let lake: FakeLake;
  let dataLake: DataLakeModel;
  let model: AttachmentsModel;
  let document: FakeDocument;

  beforeEach(async () => {
    lake = new FakeLake();
    dataLake = new DataLakeModel({
      frontendVersion: '0.1.0',
      serverSettings: lake.settings,
      preferences: { pollInterval: 30, transferPollInterval: 5 }
    });
    await dataLake.refresh();
    model = new AttachmentsModel({
      lake: dataLake,
      api: new DataLakeAPI(lake.settings),
      pageSize: 2
    });
    document = new FakeDocument();
  });

  afterEach(() => {
    model.dispose();
    dataLake.dispose();
  });

  it('shows a notebook’s attachments with their availability from the watch poll', async () => {
    lake.states.set(DID, availability(DID, 'AVAILABLE', { total: 3 }, 3000));
    lake.states.set(
      OTHER,
      availability(OTHER, 'NOT_AVAILABLE', { total: 2 }, 2000)
    );
    document.metadata.set(METADATA_KEY, FRONTEND_VALUE);
    model.document = document;
    expect(model.attachments).toHaveLength(2);
    expect(dataLake.watch.has(INSTANCE, DID)).toBe(true);
    expect(dataLake.watch.has(INSTANCE, OTHER)).toBe(true);
    await until(
      () => model.totals.unknownAvailability === 0,
      'the availability of both DIDs'
    );
    // One bulk request for both, never one per DID.
    expect(lake.count('POST availability')).toBe(1);
    const totals = model.totals;
    expect(totals.count).toBe(2);
    expect(totals.bytes).toBe(5000);
    expect(totals.bytesAtNotebook).toBe(3000);
    expect(totals.pending.map(entry => entry.did)).toEqual([OTHER]);
  });

  it('writes an attached DID into the notebook, once, and detaches it', () => {
    model.document = document;
    expect(model.attachDid(` ${DID} `)).toBe(true);
    expect(model.attachDid(DID)).toBe(false);
    expect(document.getMetadata(METADATA_KEY)).toEqual({
      version: 1,
      attachments: [{ kind: 'did', instance: INSTANCE, did: DID }]
    });
    expect(() => model.attachDid('no-scope')).toThrow(/scope:name/);
    model.detach(attachmentKey(model.attachments[0]));
    expect(document.getMetadata(METADATA_KEY)).toEqual({
      version: 1,
      attachments: []
    });
  });

  it('refuses to attach without a notebook or to a notebook of a newer version', () => {
    expect(() => model.attachDid(DID)).toThrow(/Open a notebook first/);
    document.metadata.set(METADATA_KEY, { version: 2, attachments: [] });
    model.document = document;
    expect(model.readOnly).toBe(true);
    expect(() => model.attachDid(DID)).toThrow(/newer version/);
    expect(document.getMetadata(METADATA_KEY)).toEqual({
      version: 2,
      attachments: []
    });
  });

  it('reads back changes others make to the metadata (another view, the kernel API)', () => {
    model.document = document;
    const changed = jest.fn();
    model.changed.connect(changed);
    expect(
      addToDocument(document, { kind: 'did', instance: INSTANCE, did: OTHER })
    ).toBe(true);
    expect(
      addToDocument(document, { kind: 'did', instance: INSTANCE, did: OTHER })
    ).toBe(false);
    expect(model.attachments).toEqual([
      { kind: 'did', instance: INSTANCE, did: OTHER }
    ]);
    expect(changed).toHaveBeenCalled();
  });

  it('attaches a search, resolves it page by page, and again when asked', async () => {
    model.document = document;
    const added = await model.attachQuery({
      pattern: 'L2023_*',
      filters: 'telescope=lofar',
      scope: 'lofar',
      type: 'dataset'
    });
    expect(added).toBe(true);
    const query = model.attachments[0];
    expect(query.kind).toBe('query');
    if (query.kind !== 'query') {
      return;
    }
    // Three items, two per page: two searches.
    expect(query.resolved?.dids).toEqual(lake.items.map(item => item.did));
    expect(query.resolved?.truncated).toBe(false);
    const searches = lake.queries('GET search');
    expect(searches).toHaveLength(2);
    expect(searches[0].get('q')).toBe('L2023_*');
    expect(searches[0].get('scope')).toBe('lofar');
    expect(JSON.parse(searches[0].get('filters')!)).toEqual([
      [{ key: 'telescope', op: '=', value: 'lofar' }]
    ]);
    expect(searches[1].get('cursor')).toBe('2');

    lake.items = lake.items.slice(0, 1);
    await model.resolve(attachmentKey(query));
    const again = model.attachments[0];
    expect(again.kind === 'query' && again.resolved?.dids).toEqual([
      lake.items[0].did
    ]);
    // Stored in the notebook, where the kernel reads it.
    const stored = readAttachments(document.getMetadata(METADATA_KEY));
    expect(stored.attachments).toEqual(model.attachments);
  });

  it('keeps the error of a failed resolution for the tab to show', async () => {
    model.document = document;
    lake.overrides.set('GET search', () =>
      errorResponse(503, 'Rucio is not answering.', 'service_unavailable')
    );
    await model.attachQuery({
      pattern: 'x*',
      filters: '',
      scope: '',
      type: 'all'
    });
    const key = attachmentKey(model.attachments[0]);
    expect(model.errorOf(key)).toBe('Rucio is not answering.');
    expect(model.isResolving(key)).toBe(false);
    await expect(
      model.attachQuery({
        pattern: '',
        filters: 'a>>1',
        scope: '',
        type: 'all'
      })
    ).rejects.toThrow();
  });

  it('makes every pending DID available, one rule each, and reports refusals', async () => {
    lake.states.set(DID, availability(DID, 'AVAILABLE', { total: 3 }, 3000));
    document.metadata.set(METADATA_KEY, FRONTEND_VALUE);
    model.document = document;
    await until(
      () => model.totals.unknownAvailability === 0,
      'the availability'
    );
    lake.overrides.set('POST rules', () =>
      errorResponse(
        403,
        'lofar:L2023_712343_HBA is under embargo until 2027-01-01.',
        'permission_denied'
      )
    );
    const failed = await model.makeAllAvailable(TARGETS[0], 7);
    expect(failed.started).toEqual([]);
    expect(failed.failed).toEqual([
      {
        did: OTHER,
        message: 'lofar:L2023_712343_HBA is under embargo until 2027-01-01.'
      }
    ]);
    lake.overrides.delete('POST rules');
    const result = await model.makeAllAvailable(TARGETS[0], 7);
    expect(result).toEqual({ started: [OTHER], failed: [] });
    const bodies = (await lake.bodies('POST rules')) as {
      did: string;
      target: string;
    }[];
    expect(bodies.map(body => [body.did, body.target])).toEqual([
      [OTHER, 'notebook'],
      [OTHER, 'notebook']
    ]);
  });

  it('sums what the previews say would move, and names what Rucio would refuse', async () => {
    lake.previews.set(OTHER, {
      outcome: 'refused',
      refusals: [{ reason: 'embargoed', message: 'Under embargo.' }]
    });
    const entries = [DID, OTHER].map(did => ({
      instance: INSTANCE,
      did,
      availability: availability(did, 'NOT_AVAILABLE', { total: 1 }, 100)
    }));
    const previewed = entries.map(entry => ({
      entry,
      preview: dataLake.previewMakeAvailable(entry.did, INSTANCE)
    }));
    let summary = summarisePreviews(previewed, 'notebook');
    expect(summary.complete).toBe(false);
    expect(summary.bytes).toBe(200); // from the availability, until Rucio answers
    for (const { preview } of previewed) {
      preview.ask({ target: 'notebook', lifetimeDays: 7 });
    }
    await until(
      () => previewed.every(({ preview }) => preview.state === 'ready'),
      'both previews'
    );
    summary = summarisePreviews(previewed, 'notebook');
    expect(summary.complete).toBe(true);
    expect(summary.refused).toEqual([
      { did: OTHER, message: 'Under embargo.' }
    ]);
    expect(summary.bytes).toBe(26112); // the preview's to_move of DID only
    previewed.forEach(({ preview }) => preview.dispose());
  });
});
