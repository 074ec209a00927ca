import { Widget } from '@lumino/widgets';
import { fireEvent, waitFor, within } from '@testing-library/dom';

import { IUploadCheck, IUploadOptions, IUploadRequest } from '../../api/types';
import { UploadBody } from '../../upload/UploadForm';
import { trans } from '../testUtils';

const OPTIONS: IUploadOptions = {
  account: 'alice',
  scopes: ['user.alice', 'group.lofar'],
  default_scope: 'user.alice',
  targets: [{ id: 'USERDISK', rse_expression: 'ESCAPE-USERDISK' }],
  default_target: 'USERDISK',
  default_lifetime_days: 30,
  max_lifetime_days: 365,
  max_files: 1000,
  metadata_keys: [{ key: 'energy', type: 'number' }]
};

function answer(overrides: Partial<IUploadCheck> = {}): IUploadCheck {
  return {
    scope: 'user.alice',
    files: [
      {
        path: 'results/a.fits',
        name: 'a.fits',
        did: 'user.alice:a.fits',
        bytes: 2000,
        adler32: '0a',
        identical: ['user.alice:old.fits'],
        name_taken: false,
        taken_by_identical: false
      }
    ],
    skipped: ['results/.hidden'],
    not_compared: [],
    bytes: 2000,
    dataset: null,
    target: 'USERDISK',
    rse: 'ESCAPE-USERDISK',
    problem: null,
    ...overrides
  };
}

describe('UploadBody', () => {
  it('shows the lake check, attaches identical files and types the metadata', async () => {
    const asked: IUploadRequest[] = [];
    const body = new UploadBody({
      paths: ['results'],
      options: OPTIONS,
      check: async request => {
        asked.push(request);
        return answer();
      },
      trans
    });
    Widget.attach(body, document.body);
    const node = body.node;
    await waitFor(() =>
      expect(within(node).getByRole('status').textContent).toBe(
        '1 file, 2.0 kB, to ESCAPE-USERDISK'
      )
    );
    expect(asked).toEqual([
      {
        paths: ['results'],
        scope: 'user.alice',
        dataset: 'results',
        target: 'USERDISK'
      }
    ]);
    expect(
      within(node).getByRole('table', {
        name: 'Identical files already in the lake'
      }).textContent
    ).toContain('user.alice:old.fits');
    expect(node.textContent).toContain(
      'Skipped (hidden or links): results/.hidden'
    );

    fireEvent.change(within(node).getByLabelText('Key 1'), {
      target: { value: 'energy' }
    });
    const value = await waitFor(() =>
      within(node).getByLabelText('Value 1 (number)')
    );
    fireEvent.change(value, { target: { value: 'high' } });
    await waitFor(() =>
      expect(node.textContent).toContain('energy: A number, e.g. 150 or 1.5e3.')
    );
    expect(body.hasClass('jp-mod-error')).toBe(true);
    expect(body.getValue()).toBeNull();

    fireEvent.change(value, { target: { value: '120' } });
    await waitFor(() => expect(body.hasClass('jp-mod-error')).toBe(false));
    expect(body.getValue()).toMatchObject({
      dataset: 'results',
      metadata: { energy: 120 },
      attach: { 'results/a.fits': 'user.alice:old.fits' }
    });
    body.dispose();
  });

  it('names the files the lake check had no time to compare', async () => {
    const body = new UploadBody({
      paths: ['results'],
      options: OPTIONS,
      check: async () =>
        answer({
          not_compared: ['results/big.fits', 'results/huge.fits'],
          files: []
        }),
      trans
    });
    Widget.attach(body, document.body);
    await waitFor(() =>
      expect(body.node.textContent).toContain(
        'Too large to compare with the lake in time: results/big.fits, results/huge.fits. They are uploaded as new files.'
      )
    );
    body.dispose();
  });

  it('keeps Upload off while the lake says no storage can take it, and checks again for another scope', async () => {
    const asked: string[] = [];
    const body = new UploadBody({
      paths: ['results'],
      options: OPTIONS,
      check: async request => {
        asked.push(request.scope ?? '');
        return answer({
          rse: null,
          problem: {
            message: 'Quota exceeded: needs 2.0 kB; 0 B of your 1.0 kB quota',
            reason: 'quota_exceeded'
          }
        });
      },
      trans
    });
    Widget.attach(body, document.body);
    await waitFor(() =>
      expect(within(body.node).getByRole('alert').textContent).toContain(
        'Quota exceeded: needs 2.0 kB'
      )
    );
    expect(body.hasClass('jp-mod-error')).toBe(true);
    fireEvent.change(body.node.querySelector('#jp-DLaaS-upload-scope')!, {
      target: { value: 'group.lofar' }
    });
    await waitFor(() => expect(asked).toEqual(['user.alice', 'group.lofar']));
    body.dispose();
  });
});
