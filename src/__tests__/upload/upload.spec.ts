import { Notification } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { waitFor } from '@testing-library/dom';

import { DataLakeAPI } from '../../api/client';
import { DataLakeRequestError } from '../../api/request';
import { IUpload, IUploadCheck, IUploadOptions } from '../../api/types';
import {
  metadataValueProblem,
  proposedDatasetName,
  typedMetadata,
  UploadsModel
} from '../../upload/model';
import { describeUpload, UploadNotifier } from '../../upload/notifier';
import { IUploadChoice, uploadRequest } from '../../upload/UploadForm';

const trans = nullTranslator.load('escape_dlaas');

const OPTIONS: IUploadOptions = {
  account: 'alice',
  scopes: ['user.alice'],
  default_scope: 'user.alice',
  targets: [{ id: 'USERDISK', rse_expression: 'ESCAPE-USERDISK' }],
  default_target: 'USERDISK',
  default_lifetime_days: 30,
  max_lifetime_days: 365,
  max_files: 1000,
  metadata_keys: [
    { key: 'energy', type: 'number' },
    { key: 'obs_date', type: 'date' },
    { key: 'telescope', type: 'text' },
    { key: 'calibrated', type: 'bool' }
  ]
};

function upload(overrides: Partial<IUpload> = {}): IUpload {
  return {
    id: '1-1',
    instance: 'local-lake',
    state: 'RUNNING',
    phase: 'copying',
    dataset: 'user.alice:results',
    rse: 'ESCAPE-USERDISK',
    target: 'USERDISK',
    error: null,
    reason: null,
    rule: null,
    note: null,
    left_behind: [],
    files: { total: 2, done: 1, attached: 0 },
    bytes: { total: 3000, done: 1500 },
    items: [
      {
        path: 'results/a.fits',
        did: 'user.alice:a.fits',
        bytes: 1000,
        adler32: '01',
        action: 'upload',
        done_bytes: 1000,
        state: 'COPIED'
      },
      {
        path: 'results/b.fits',
        did: 'user.alice:b.fits',
        bytes: 2000,
        adler32: null,
        action: 'upload',
        done_bytes: 500,
        state: 'COPYING'
      }
    ],
    started_at: 0,
    finished_at: null,
    ...overrides
  };
}

describe('proposedDatasetName', () => {
  it('takes the folder name, or the file name without extension', () => {
    expect(proposedDatasetName(['analysis/results/'])).toBe('results');
    expect(proposedDatasetName(['spectrum 1.fits'])).toBe('spectrum_1');
    expect(proposedDatasetName(['a.fits', 'b.fits'])).toBe('a.fits');
    expect(proposedDatasetName(['.hidden'])).toBe('upload');
  });
});

describe('metadata validation', () => {
  it('checks numbers, dates and booleans as the catalogue types them', () => {
    expect(metadataValueProblem('number', '1.5e3', trans)).toBeNull();
    expect(metadataValueProblem('number', 'high', trans)).toMatch(/number/);
    expect(metadataValueProblem('date', '2025-02-03', trans)).toBeNull();
    expect(metadataValueProblem('date', '2025-02-30', trans)).toMatch(
      /calendar/
    );
    expect(metadataValueProblem('date', '03/02/2025', trans)).toMatch(/date/);
    expect(metadataValueProblem('bool', 'TRUE', trans)).toBeNull();
    expect(metadataValueProblem('bool', 'maybe', trans)).toMatch(/true/);
    expect(metadataValueProblem('text', 'anything', trans)).toBeNull();
    expect(metadataValueProblem('text', '  ', trans)).toMatch(/value/);
  });

  it('types the values, ignores empty rows and names each problem by row', () => {
    const { metadata, problems } = typedMetadata(
      [
        { key: 'energy', value: '151.5' },
        { key: '', value: '' },
        { key: 'calibrated', value: 'false' },
        { key: 'obs_date', value: 'yesterday' },
        { key: 'bad.key', value: 'x' },
        { key: 'energy', value: '2' },
        { key: 'campaign', value: 'A' }
      ],
      OPTIONS.metadata_keys,
      trans
    );
    expect(metadata).toEqual({
      energy: 151.5,
      calibrated: false,
      campaign: 'A'
    });
    expect([...problems.keys()]).toEqual([3, 4, 5]);
    expect(problems.get(5)).toMatch(/twice/);
  });
});

describe('uploadRequest', () => {
  const choice: IUploadChoice = {
    scope: 'user.alice',
    dataset: ' results ',
    target: 'USERDISK',
    lifetimeDays: 2,
    rows: [{ key: 'energy', value: '150' }],
    metadataOn: 'both',
    attachIdentical: true
  };
  const check: IUploadCheck = {
    scope: 'user.alice',
    files: [
      {
        path: 'results/a.fits',
        name: 'a.fits',
        did: 'user.alice:a.fits',
        bytes: 1,
        adler32: '01',
        identical: ['user.alice:old_a.fits'],
        name_taken: false,
        taken_by_identical: false
      },
      {
        path: 'results/b.fits',
        name: 'b.fits',
        did: 'user.alice:b.fits',
        bytes: 1,
        adler32: '02',
        identical: [],
        name_taken: false,
        taken_by_identical: false
      }
    ],
    skipped: [],
    not_compared: [],
    bytes: 2,
    dataset: null,
    target: 'USERDISK',
    rse: 'ESCAPE-USERDISK',
    problem: null
  };

  it('attaches the identical files when asked, with typed metadata', () => {
    expect(uploadRequest(['results'], choice, OPTIONS, check, trans)).toEqual({
      paths: ['results'],
      scope: 'user.alice',
      dataset: 'results',
      target: 'USERDISK',
      lifetime_days: 2,
      metadata: { energy: 150 },
      metadata_on: 'both',
      attach: { 'results/a.fits': 'user.alice:old_a.fits' }
    });
    expect(
      uploadRequest(
        ['results'],
        { ...choice, attachIdentical: false },
        OPTIONS,
        check,
        trans
      )?.attach
    ).toEqual({});
  });

  it('is null while the metadata, the dataset or the lifetime is wrong', () => {
    const wrong = [
      { ...choice, rows: [{ key: 'energy', value: 'high' }] },
      { ...choice, dataset: ' ' },
      { ...choice, lifetimeDays: 400 },
      { ...choice, lifetimeDays: NaN }
    ];
    for (const value of wrong) {
      expect(
        uploadRequest(['results'], value, OPTIONS, check, trans)
      ).toBeNull();
    }
  });
});

describe('describeUpload', () => {
  it('says progress per file and overall, then the outcome with the rule', () => {
    expect(describeUpload(upload(), trans).message).toBe(
      'Uploading to user.alice:results: 1 of 2 files, 1.5 kB of 3.0 kB (b.fits 500 B/2.0 kB)'
    );
    const done = describeUpload(
      upload({
        state: 'DONE',
        phase: 'finished',
        files: { total: 2, done: 2, attached: 1 },
        rule: { id: 'abc', expires_at: null }
      }),
      trans
    );
    expect(done.type).toBe('success');
    expect(done.message).toBe(
      '2 files (3.0 kB) uploaded to user.alice:results at ESCAPE-USERDISK, 1 attached; rule abc keeps them without end.'
    );
    const failed = describeUpload(
      upload({
        state: 'FAILED',
        error: 'a.fits changed while it was being uploaded'
      }),
      trans
    );
    expect([failed.type, failed.message]).toEqual([
      'error',
      'a.fits changed while it was being uploaded'
    ]);
  });
});

describe('UploadsModel and UploadNotifier', () => {
  function fakeApi(answers: IUpload[]): {
    api: DataLakeAPI;
    cancelUpload: jest.Mock;
  } {
    const cancelUpload = jest.fn(async () =>
      upload({ state: 'CANCELLED', phase: 'finished', error: 'cancelled' })
    );
    const api = {
      upload: jest.fn(async () => {
        const next = answers.shift();
        if (!next) {
          throw new DataLakeRequestError('no upload', 404, 'no_upload');
        }
        return next;
      }),
      cancelUpload
    } as unknown as DataLakeAPI;
    return { api, cancelUpload };
  }

  it('follows an upload to its end and notifies each state once, with Cancel then Show details', async () => {
    const { api } = fakeApi([
      upload({ bytes: { total: 3000, done: 2500 } }),
      upload({ state: 'DONE', phase: 'finished', rule: { id: 'r1' } })
    ]);
    const model = new UploadsModel({ api, pollMs: 1 });
    const emit = jest.spyOn(Notification, 'emit');
    const update = jest.spyOn(Notification, 'update');
    const showDetails = jest.fn();
    const notifier = new UploadNotifier({
      model,
      trans,
      showDetails,
      makeAvailable: jest.fn(),
      showFull: jest.fn()
    });
    const seen: string[] = [];
    model.uploadChanged.connect((_, u) => seen.push(u.state));
    model.follow(upload());
    await waitFor(() => expect(seen).toEqual(['RUNNING', 'RUNNING', 'DONE']));
    expect(emit).toHaveBeenCalledTimes(1);
    const running = emit.mock.calls[0][2]!.actions!;
    expect(running.map(a => a.label)).toEqual(['Cancel upload']);
    const last = update.mock.calls[update.mock.calls.length - 1][0];
    expect(last.type).toBe('success');
    expect(last.actions!.map(a => a.label)).toEqual([
      'Show details',
      'Make available'
    ]);
    last.actions![0].callback(new MouseEvent('click'));
    expect(showDetails).toHaveBeenCalledWith('user.alice:results');
    notifier.dispose();
    model.dispose();
  });

  it('cancels through the API and says when the server forgot the upload', async () => {
    const { api, cancelUpload } = fakeApi([]);
    const model = new UploadsModel({ api, pollMs: 1 });
    const seen: IUpload[] = [];
    model.uploadChanged.connect((_, u) => seen.push(u));
    await model.cancel(upload());
    expect(cancelUpload).toHaveBeenCalledWith('local-lake', '1-1');
    expect(seen[0].state).toBe('CANCELLED');
    model.follow(upload());
    await waitFor(() => expect(seen[seen.length - 1].state).toBe('FAILED'));
    expect(seen[seen.length - 1].error).toBe('no upload');
    model.dispose();
  });
});
