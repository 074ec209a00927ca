/** The search form against a fake lake: the query, the filter builder, paging. */
import { fireEvent, waitFor, within } from '@testing-library/dom';
import React from 'react';

import { SearchView } from '../../components/SearchView';
import { DataLakeModel } from '../../models/datalake';
import { availability, errorResponse, FakeLake } from '../fakeLake';
import { fakeActions, render, trans } from '../testUtils';
import { live as liveOf, panelModelForEachTest } from './panelModel';

let lake: FakeLake;
let model: DataLakeModel;
panelModelForEachTest(made => ({ lake, model } = made));

/** A component re-rendering `element` at every change of the model. */
const live = (element: () => JSX.Element) => liveOf(model, element);

describe('search form', () => {
  it('runs the search on Enter with name, scope, type and filter; shows results with badges', async () => {
    lake.states.set(
      'lofar:L2023_712343_HBA',
      availability('lofar:L2023_712343_HBA', 'REPLICATING', {
        total: 3,
        at_notebook: 1
      })
    );
    const actions = fakeActions();
    const node = await render(
      live(() => <SearchView model={model} actions={actions} trans={trans} />)
    );
    const form = within(node).getByRole('search', {
      name: 'Search the data lake'
    });

    fireEvent.change(
      within(form).getByRole('searchbox', { name: 'Name pattern' }),
      { target: { value: 'L2023*' } }
    );
    fireEvent.change(within(form).getByRole('combobox', { name: 'Scope' }), {
      target: { value: 'lofar' }
    });
    fireEvent.change(within(form).getByRole('combobox', { name: 'Type' }), {
      target: { value: 'dataset' }
    });
    fireEvent.change(
      within(form).getByRole('textbox', { name: 'Metadata filter' }),
      {
        target: { value: 'telescope=lofar,energy>140' }
      }
    );
    fireEvent.submit(form);

    const results = await waitFor(() =>
      within(node).getByRole('list', { name: 'Results' })
    );
    const [query] = lake.queries('GET search');
    expect(query.get('q')).toBe('L2023*');
    expect(query.get('scope')).toBe('lofar');
    expect(query.get('type')).toBe('dataset');
    expect(JSON.parse(query.get('filters')!)).toEqual([
      [
        { key: 'telescope', op: '=', value: 'lofar' },
        { key: 'energy', op: '>', value: 140 }
      ]
    ]);
    expect(within(node).getByText('3 results')).toBeTruthy();

    const rows = within(results).getAllByRole('listitem');
    expect(rows.map(row => row.getAttribute('aria-label'))).toEqual([
      'lofar:L2023_712342_HBA',
      'lofar:L2023_712343_HBA',
      'lofar:L2023_712399_HBA_raw'
    ]);
    expect(rows[0].textContent).toContain('26.1 kB · 3 files');
    expect(rows[2].textContent).toContain('198 kB');
    expect(within(rows[0]).getByRole('img').dataset.state).toBe(
      'NOT_AVAILABLE'
    );
    expect(within(rows[1]).getByRole('img').textContent).toBe(
      'Replicating 1/3'
    );

    fireEvent.click(
      within(rows[2]).getByRole('button', {
        name: 'Make lofar:L2023_712399_HBA_raw available'
      })
    );
    expect(actions.makeAvailable).toHaveBeenCalledWith(
      expect.objectContaining({
        did: 'lofar:L2023_712399_HBA_raw',
        bytes: 198144,
        length: 3
      })
    );
  });

  it('keeps the builder and the text in sync, and shows filter errors', async () => {
    const node = await render(
      live(() => (
        <SearchView model={model} actions={fakeActions()} trans={trans} />
      ))
    );
    const text = within(node).getByRole('textbox', {
      name: 'Metadata filter'
    }) as HTMLInputElement;
    fireEvent.change(text, {
      target: { value: 'telescope=lofar,energy>140;telescope=ska' }
    });
    fireEvent.click(
      within(node).getByRole('button', { name: 'Filter builder' })
    );

    const builder = await waitFor(() =>
      within(node).getByRole('group', { name: 'Filter builder' })
    );
    expect(
      within(builder)
        .getAllByRole('group')
        .map(group => group.getAttribute('aria-label'))
    ).toEqual(['Condition group 1', 'Condition group 2']);
    const energy = within(builder).getByRole('spinbutton', {
      name: 'Value, group 1, condition 2'
    }) as HTMLInputElement;
    expect(energy.value).toBe('140');
    expect(
      (
        within(builder).getByRole('combobox', {
          name: 'Operator, group 1, condition 2'
        }) as HTMLSelectElement
      ).value
    ).toBe('>');

    // Builder → text.
    fireEvent.change(energy, { target: { value: '160' } });
    fireEvent.click(
      within(builder).getByRole('button', {
        name: 'Add an AND condition to group 2'
      })
    );
    fireEvent.change(
      await within(builder).findByRole('combobox', {
        name: 'Key, group 2, condition 2'
      }),
      { target: { value: 'obs_date' } }
    );
    fireEvent.change(
      within(builder).getByRole('combobox', {
        name: 'Operator, group 2, condition 2'
      }),
      { target: { value: '>=' } }
    );
    fireEvent.change(
      within(builder).getByRole('textbox', {
        name: 'Value, group 2, condition 2'
      }),
      { target: { value: '2023-06-01' } }
    );
    await waitFor(() =>
      expect(text.value).toBe(
        'telescope=lofar,energy>160;telescope=ska,obs_date>=2023-06-01'
      )
    );

    fireEvent.click(
      within(builder).getByRole('button', {
        name: 'Remove condition, group 1, condition 1'
      })
    );
    await waitFor(() =>
      expect(text.value).toBe('energy>160;telescope=ska,obs_date>=2023-06-01')
    );

    // Text error: said next to the box, the builder is left alone.
    fireEvent.change(text, { target: { value: 'energy>160,' } });
    const error = await waitFor(() => within(node).getByRole('alert'));
    expect(error.textContent).toBe(
      "group 1, condition 2 is empty (two ',' in a row, or one at the end?)"
    );
    expect(text.getAttribute('aria-invalid')).toBe('true');
    expect(within(builder).getAllByRole('group')).toHaveLength(2);
  });

  it('suggests the metadata keys of the instance', async () => {
    model.search.setBuilderOpen(true);
    const node = await render(
      live(() => (
        <SearchView model={model} actions={fakeActions()} trans={trans} />
      ))
    );
    const options = [...node.querySelectorAll('datalist option')].map(option =>
      option.getAttribute('value')
    );
    expect(options).toEqual(['doi', 'energy', 'obs_date', 'telescope']);
  });

  it("shows the server's message when the search fails", async () => {
    lake.overrides.set('GET search', () =>
      errorResponse(
        400,
        "'a b' is not a valid name pattern: use letters, digits, '.', '_', '-', '/' and '*' as wildcard",
        'invalid_pattern'
      )
    );
    const node = await render(
      live(() => (
        <SearchView model={model} actions={fakeActions()} trans={trans} />
      ))
    );
    fireEvent.submit(within(node).getByRole('search'));
    const alert = await waitFor(() =>
      within(node).getByRole('alert', { name: 'Search failed' })
    );
    expect(alert.textContent).toContain("'a b' is not a valid name pattern");
  });
});
