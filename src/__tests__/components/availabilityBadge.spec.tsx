/** The availability badge: its state, counts and wording. */
import { within } from '@testing-library/dom';
import React from 'react';

import { AvailabilityBadge } from '../../components/AvailabilityBadge';
import { IAvailability } from '../../api/types';
import { availability } from '../fakeLake';
import { cleanup, render, trans } from '../testUtils';

afterEach(() => cleanup());

describe('AvailabilityBadge', () => {
  const did = 'lofar:x';
  it.each<[IAvailability | null, string, string, RegExp]>([
    [
      availability(did, 'AVAILABLE'),
      'AVAILABLE',
      'Available',
      /Available at the notebook \(3 files\)/
    ],
    [
      availability(did, 'PARTIAL', { total: 3, at_notebook: 2 }),
      'PARTIAL',
      'Partial 2/3',
      /2 of 3 files/
    ],
    [
      availability(
        did,
        'REPLICATING',
        { total: 4, at_notebook: 1, replicating: 3 },
        4000
      ),
      'REPLICATING',
      'Replicating 1/4',
      /1 of 4 files there, 3 on their way/
    ],
    [
      availability(did, 'STUCK', { total: 1 }, 10, 'No route to ESCAPE-SAFE'),
      'STUCK',
      'Stuck',
      /stuck: No route to ESCAPE-SAFE/
    ],
    [
      availability(did, 'NOT_AVAILABLE'),
      'NOT_AVAILABLE',
      'Not here',
      /Not at the notebook/
    ],
    [availability(did, 'EMPTY', { total: 0 }, 0), 'EMPTY', 'Empty', /no files/],
    [null, 'PENDING', '…', /not known yet/]
  ])('shows %#: %s as "%s"', async (value, state, label, description) => {
    const node = await render(
      <AvailabilityBadge availability={value} trans={trans} />
    );
    const badge = within(node).getByRole('img');
    expect(badge.dataset.state).toBe(state);
    expect(badge.textContent).toBe(label);
    expect(badge.getAttribute('aria-label')).toMatch(description);
    expect(badge.className).toContain(
      `jp-mod-${state.toLowerCase().replace('_', '-')}`
    );
  });

  it('draws the progress of a replication', async () => {
    const node = await render(
      <AvailabilityBadge
        availability={availability(
          did,
          'REPLICATING',
          { total: 4, at_notebook: 1 },
          4000
        )}
        trans={trans}
      />
    );
    const bar = node.querySelector<HTMLElement>('.jp-DLaaS-miniProgressValue')!;
    expect(bar.style.width).toBe('25%');
  });
});
