/** The search's hints and result rows against a fake lake. */
import { fireEvent, waitFor, within } from '@testing-library/dom';
import React from 'react';

import { ResultRow, SearchView } from '../../components/SearchView';
import { DataLakeModel } from '../../models/datalake';
import {
  availability,
  errorResponse,
  FakeLake,
  INSTANCE,
  searchItem
} from '../fakeLake';
import { jsonResponse } from '../fakeServer';
import { fakeActions, render, trans } from '../testUtils';
import { live as liveOf, panelModelForEachTest } from './panelModel';

let lake: FakeLake;
let model: DataLakeModel;
panelModelForEachTest(made => ({ lake, model } = made));

/** A component re-rendering `element` at every change of the model. */
const live = (element: () => JSX.Element) => liveOf(model, element);

describe('search hints', () => {
  const caseHint = {
    kind: 'case' as const,
    field: 'filter',
    message:
      "Nothing has telescope = 'LOFAR', but there is data with 'lofar': letter case matters.",
    suggestion: 'telescope=lofar'
  };
  const keyHint = {
    kind: 'unknown_key' as const,
    field: 'filter',
    message:
      "This catalogue does not use the metadata key 'colour'. Keys it uses: energy, telescope.",
    suggestion: null
  };

  beforeEach(() => {
    lake.overrides.set('GET search', (_, url) =>
      (url.searchParams.get('filters') ?? '').includes('LOFAR')
        ? jsonResponse({
            items: [],
            next_cursor: null,
            hints: [caseHint, keyHint]
          })
        : jsonResponse({
            items: lake.items.slice(0, 1),
            next_cursor: null,
            hints: []
          })
    );
  });

  async function searchWith(filter: string): Promise<HTMLElement> {
    const node = await render(
      live(() => (
        <SearchView model={model} actions={fakeActions()} trans={trans} />
      ))
    );
    fireEvent.change(
      within(node).getByRole('textbox', { name: 'Metadata filter' }),
      { target: { value: filter } }
    );
    fireEvent.submit(within(node).getByRole('search'));
    return node;
  }

  it('says why nothing matched, and searches for the suggestion in one click', async () => {
    const node = await searchWith('telescope=LOFAR,colour=red');
    const hints = await waitFor(() =>
      within(node).getByRole('alert', { name: 'Why nothing matched' })
    );
    expect(within(node).getByRole('status').textContent).toBe(
      'No data matches this search.'
    );
    expect(hints.textContent).toContain(caseHint.message);
    expect(hints.textContent).toContain(keyHint.message);
    // Only a hint with a suggestion has a button.
    expect(within(hints).getAllByRole('button')).toHaveLength(1);

    fireEvent.click(
      within(hints).getByRole('button', {
        name: 'Search for telescope=lofar'
      })
    );
    await waitFor(() => within(node).getByRole('list', { name: 'Results' }));
    expect(
      within(node).getByRole<HTMLInputElement>('textbox', {
        name: 'Metadata filter'
      }).value
    ).toBe('telescope=lofar');
    expect(
      within(node).queryByRole('alert', { name: 'Why nothing matched' })
    ).toBeNull();
    expect(JSON.parse(lake.queries('GET search')[1].get('filters')!)).toEqual([
      [{ key: 'telescope', op: '=', value: 'lofar' }]
    ]);
  });

  it('shows no hint when the server has none', async () => {
    lake.overrides.set('GET search', () =>
      jsonResponse({ items: [], next_cursor: null, hints: [] })
    );
    const node = await searchWith('telescope=ska');
    await waitFor(() =>
      expect(within(node).getByRole('status').textContent).toBe(
        'No data matches this search.'
      )
    );
    expect(within(node).queryByRole('alert')).toBeNull();
  });

  it('clears a refused search from the screen when the filter is edited', async () => {
    lake.overrides.set('GET search', () =>
      errorResponse(
        400,
        "group 1, condition 1: the value for 'a' contains an invisible character (U+200B)",
        'invalid_filter',
        'filters'
      )
    );
    const node = await searchWith('a=x');
    await waitFor(() =>
      within(node).getByRole('alert', { name: 'Search failed' })
    );
    fireEvent.change(
      within(node).getByRole('textbox', { name: 'Metadata filter' }),
      { target: { value: 'a=y' } }
    );
    await waitFor(() =>
      expect(
        within(node).queryByRole('alert', { name: 'Search failed' })
      ).toBeNull()
    );
  });
});

describe('result row', () => {
  it('prefers the availability of the watch poll to that of the search', async () => {
    const item = searchItem('ska:AA05_quicklook_0001', {
      type: 'DATASET',
      bytes: 4096,
      length: 1
    });
    model.watch.watch(INSTANCE, item.did, {
      availability: availability(item.did, 'AVAILABLE', { total: 1 }, 4096)
    });
    const node = await render(
      <ResultRow
        item={item}
        index={0}
        count={1}
        focused={true}
        model={model}
        actions={fakeActions()}
        trans={trans}
      />
    );
    const row = within(node).getByRole('listitem', { name: item.did });
    expect(within(row).getByRole('img').dataset.state).toBe('AVAILABLE');
    expect(row.textContent).toContain('AA05_quicklook_0001');
    // A name cut at the panel's width is readable in full on hover.
    expect(
      row.querySelector('.jp-DLaaS-resultName')?.getAttribute('title')
    ).toBe(item.did);
    expect(row.textContent).toContain('ska · 4.1 kB · 1 file');
    expect(
      within(row)
        .getByRole('button', { name: /Show details/ })
        .getAttribute('aria-label')
    ).toBe(
      'ska:AA05_quicklook_0001, Dataset, 4.1 kB, 1 file, Available at the notebook (1 file). Show details'
    );
    fireEvent.click(within(row).getByRole('button', { name: /Show details/ }));
    await waitFor(() => expect(model.details.did).toBe(item.did));
  });

  it("shows a row by name first, and says how to see a container's state", async () => {
    const listed = {
      did: 'lofar:LOFAR_LC20_survey',
      scope: 'lofar',
      name: 'LOFAR_LC20_survey',
      type: 'CONTAINER',
      bytes: null,
      length: null
    };
    const badgeOf = async (item: typeof listed) => {
      const node = await render(
        <ResultRow
          item={item}
          index={0}
          count={1}
          focused={true}
          model={model}
          actions={fakeActions()}
          trans={trans}
        />
      );
      return within(node).getByRole('img');
    };
    // names only: not described yet
    const pending = await badgeOf(listed);
    expect(pending.dataset.state).toBe('PENDING');
    expect(pending.textContent).toBe('…');
    // described: a container's state is not worked out on a list
    const described = await badgeOf({
      ...listed,
      metadata: { telescope: 'lofar' },
      availability: null
    } as typeof listed);
    expect(described.dataset.state).toBe('ON_REQUEST');
    expect(described.textContent).toBe('Open to see');
    expect(described.getAttribute('aria-label')).toBe(
      'Open this container, or make it available, to see where its data is'
    );
    // once watched, the poll's state wins
    model.watch.watch(INSTANCE, listed.did, {
      availability: availability(listed.did, 'REPLICATING', {
        total: 4,
        at_notebook: 1,
        replicating: 3
      })
    });
    const watched = await badgeOf({
      ...listed,
      metadata: {},
      availability: null
    } as typeof listed);
    expect(watched.dataset.state).toBe('REPLICATING');
  });
});
