import { UseSignal } from '@jupyterlab/ui-components';
import { fireEvent, waitFor, within } from '@testing-library/dom';
import { Widget } from '@lumino/widgets';
import React from 'react';

import { AvailabilityBadge } from '../components/AvailabilityBadge';
import { DataLakePanel } from '../components/DataLakePanel';
import { DetailsView } from '../components/DetailsView';
import {
  dataToMove,
  MakeAvailableBody,
  MakeAvailableForm
} from '../components/MakeAvailableForm';
import { ResultRow, SearchView } from '../components/SearchView';
import { VirtualList } from '../components/VirtualList';
import { IAvailability } from '../api/types';
import { DataLakeModel } from '../models/datalake';
import {
  availability,
  errorResponse,
  FakeLake,
  INSTANCE,
  rule,
  searchItem,
  TARGETS
} from './fakeLake';
import { jsonResponse } from './fakeServer';
import { cleanup, fakeActions, render, trans } from './testUtils';

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

describe('MakeAvailableForm', () => {
  const item = {
    did: 'lofar:L2023_712342_HBA',
    bytes: 26112,
    length: 3,
    availability: availability(
      'lofar:L2023_712342_HBA',
      'PARTIAL',
      { total: 3, at_notebook: 1 },
      26112
    )
  };

  it('says how much data moves to the notebook, and to a QoS class', () => {
    expect(dataToMove(item, TARGETS[0])).toEqual({
      bytes: 17408,
      files: 2,
      upTo: false
    });
    expect(dataToMove(item, TARGETS[2])).toEqual({
      bytes: 26112,
      files: 3,
      upTo: true
    });
    expect(dataToMove({ ...item, availability: null }, TARGETS[0])).toEqual({
      bytes: 26112,
      files: 3,
      upTo: true
    });
  });

  it('shows the DID, the targets, the lifetime and the volume, and follows changes', async () => {
    let value = { targetId: 'notebook', lifetimeDays: 7 };
    const onChange = jest.fn(next => (value = next));
    const node = await render(() => (
      <MakeAvailableForm
        item={item}
        targets={TARGETS}
        value={value}
        onChange={onChange}
        trans={trans}
      />
    ));
    expect(node.textContent).toContain('lofar:L2023_712342_HBA');
    const target = within(node).getByRole('combobox', {
      name: 'Target'
    }) as HTMLSelectElement;
    expect([...target.options].map(option => option.textContent)).toEqual(
      TARGETS.map(t => t.label)
    );
    expect(target.value).toBe('notebook');
    expect(
      (
        within(node).getByRole('spinbutton', {
          name: 'Lifetime in days'
        }) as HTMLInputElement
      ).value
    ).toBe('7');
    expect(within(node).getByRole('status').textContent).toBe(
      '17.4 kB (2 files) will be copied to Notebook-local storage.'
    );
    expect(node.textContent).toContain('The copy is kept for 7 days');

    fireEvent.change(target, { target: { value: 'SAFE' } });
    expect(onChange).toHaveBeenLastCalledWith({
      targetId: 'SAFE',
      lifetimeDays: 7
    });
  });

  it('says nothing moves when everything is there already', async () => {
    const node = await render(
      <MakeAvailableForm
        item={{
          ...item,
          availability: availability(item.did, 'AVAILABLE', { total: 3 }, 26112)
        }}
        targets={TARGETS}
        value={{ targetId: 'notebook', lifetimeDays: 7 }}
        onChange={() => undefined}
        trans={trans}
      />
    );
    expect(within(node).getByRole('status').textContent).toBe(
      'All its files are at the notebook already: no data moves.'
    );
  });

  it('gives the dialog the choice, or null for an invalid lifetime', async () => {
    const body = new MakeAvailableBody({
      item,
      targets: TARGETS,
      defaultTargetId: 'CHEAP',
      defaultLifetimeDays: 14,
      trans
    });
    Widget.attach(body, document.body);
    await waitFor(() => expect(body.node.querySelector('select')).toBeTruthy());
    expect(body.getValue()).toEqual({ targetId: 'CHEAP', lifetimeDays: 14 });
    expect(body.node.textContent).toContain(
      'Up to 26.1 kB (3 files) will be copied to QoS class CHEAP'
    );

    fireEvent.change(within(body.node).getByRole('spinbutton'), {
      target: { value: '0' }
    });
    await waitFor(() => expect(body.getValue()).toBeNull());
    await waitFor(() =>
      expect(body.node.textContent).toContain(
        'Give a lifetime of at least 1 day.'
      )
    );
    body.dispose();
  });
});

describe('VirtualList', () => {
  const items = Array.from({ length: 5000 }, (_, i) => `item-${i}`);

  function list(onEndReached = jest.fn()) {
    return (
      <VirtualList
        items={items}
        rowHeight={50}
        itemKey={item => item}
        ariaLabel="Things"
        initialHeight={500}
        onEndReached={onEndReached}
        renderRow={(item, index, focused) => (
          <div role="listitem" aria-label={item}>
            <button tabIndex={focused ? 0 : -1}>{item}</button>
          </div>
        )}
      />
    );
  }

  it('renders only the rows in view (plus a few), with the full scroll height', async () => {
    const node = await render(list());
    const rows = within(node).getAllByRole('listitem');
    expect(rows.length).toBeLessThan(30);
    expect(rows[0].getAttribute('aria-label')).toBe('item-0');
    const spacer = node.querySelector<HTMLElement>('.jp-DLaaS-virtualSpacer')!;
    expect(spacer.style.height).toBe(`${5000 * 50}px`);
  });

  it('renders the rows at the scroll position and asks for more near the end', async () => {
    const onEndReached = jest.fn();
    const node = await render(list(onEndReached));
    expect(onEndReached).not.toHaveBeenCalled();
    const scroller = within(node).getByRole('list', { name: 'Things' });
    scroller.scrollTop = 2500 * 50;
    fireEvent.scroll(scroller);
    await waitFor(() =>
      expect(
        within(node).getByRole('listitem', { name: 'item-2500' })
      ).toBeTruthy()
    );
    expect(within(node).queryByRole('listitem', { name: 'item-0' })).toBeNull();
    expect(onEndReached).not.toHaveBeenCalled();

    scroller.scrollTop = 4990 * 50;
    fireEvent.scroll(scroller);
    await waitFor(() => expect(onEndReached).toHaveBeenCalled());
  });

  it('moves the focus with the arrow keys, Home and End', async () => {
    const node = await render(list());
    const scroller = within(node).getByRole('list', { name: 'Things' });
    within(node).getByRole('button', { name: 'item-0' }).focus();
    fireEvent.keyDown(scroller, { key: 'ArrowDown' });
    await waitFor(() =>
      expect(document.activeElement?.textContent).toBe('item-1')
    );
    fireEvent.keyDown(scroller, { key: 'End' });
    await waitFor(() =>
      expect(document.activeElement?.textContent).toBe('item-4999')
    );
    expect(scroller.scrollTop).toBeGreaterThan(4000 * 50);
    fireEvent.keyDown(scroller, { key: 'Home' });
    await waitFor(() =>
      expect(document.activeElement?.textContent).toBe('item-0')
    );
    // One tab stop for the whole list.
    expect(node.querySelectorAll('button[tabindex="0"]')).toHaveLength(1);
  });
});

describe('with a model', () => {
  let lake: FakeLake;
  let model: DataLakeModel;

  beforeEach(async () => {
    lake = new FakeLake();
    model = new DataLakeModel({
      frontendVersion: '0.1.0',
      serverSettings: lake.settings,
      preferences: { searchPageSize: 100 }
    });
    model.panelVisible = true;
    await model.refresh();
    await waitFor(() => expect(model.catalogue.targets).not.toBeNull());
  });

  afterEach(() => model.dispose());

  /** A component re-rendering `element` at every change of the model. */
  function live(element: () => JSX.Element) {
    function Live(): JSX.Element {
      return <UseSignal signal={model.changed}>{() => element()}</UseSignal>;
    }
    return Live;
  }

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
      const options = [...node.querySelectorAll('datalist option')].map(
        option => option.getAttribute('value')
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
      expect(JSON.parse(lake.queries('GET search')[1].get('filters')!)).toEqual(
        [[{ key: 'telescope', op: '=', value: 'lofar' }]]
      );
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
      fireEvent.click(
        within(row).getByRole('button', { name: /Show details/ })
      );
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

  describe('details view', () => {
    const did = 'lofar:L2023_712342_HBA';
    const now = Date.parse('2026-11-23T12:00:00Z');

    beforeEach(async () => {
      lake.states.set(
        did,
        availability(did, 'PARTIAL', { total: 3, at_notebook: 1 })
      );
      lake.rules.set(did, [
        rule({
          id: 'b'.repeat(32),
          did,
          account: 'root',
          rse_expression: 'ESCAPE-SAFE',
          state: 'OK',
          locks: { ok: 3, replicating: 0, stuck: 0 },
          expires_at: null,
          towards_notebook: false
        }),
        rule({
          id: 'a'.repeat(32),
          did,
          account: 'alice',
          rse_expression: 'NOTEBOOK-LOCAL',
          state: 'STUCK',
          locks: { ok: 1, replicating: 1, stuck: 1 },
          expires_at: '2026-11-30T12:00:00',
          error: 'Transfer failed: checksum mismatch'
        })
      ]);
      lake.files.set(did, [
        {
          did: 'lofar:L712342_SB_000_uv.MS.tar',
          name: 'L712342_SB_000_uv.MS.tar',
          bytes: 8192,
          state: 'AVAILABLE',
          reason: null,
          replicas: [
            { rse: 'ESCAPE-SAFE', state: 'AVAILABLE', qos_class: 'SAFE' },
            { rse: 'NOTEBOOK-LOCAL', state: 'AVAILABLE', qos_class: 'FAST' }
          ],
          local_path:
            '/lake/rses/notebook-local/lofar/aa/bb/L712342_SB_000_uv.MS.tar'
        },
        {
          did: 'lofar:L712342_SB_001_uv.MS.tar',
          name: 'L712342_SB_001_uv.MS.tar',
          bytes: 8704,
          state: 'STUCK',
          reason: 'Transfer failed: checksum mismatch',
          replicas: [
            { rse: 'ESCAPE-SAFE', state: 'AVAILABLE', qos_class: 'SAFE' },
            { rse: 'NOTEBOOK-LOCAL', state: 'COPYING', qos_class: 'FAST' }
          ],
          local_path: null
        }
      ]);
      await model.openDetails(did);
    });

    /** The details view of `did`, re-rendered as the model changes. */
    const renderDetails = (actions: ReturnType<typeof fakeActions>) =>
      render(
        live(() => (
          <DetailsView
            model={model}
            actions={actions}
            trans={trans}
            now={now}
          />
        ))
      );

    it('shows the whole name and DID, never cut; the DID on hover of the title', async () => {
      const node = await renderDetails(fakeActions());
      const heading = within(node).getByRole('heading', {
        name: 'L2023_712342_HBA'
      });
      expect(heading.getAttribute('title')).toBe(did);
      expect(node.querySelector('.jp-DLaaS-didLine')?.textContent).toBe(did);
    });

    it('shows metadata with the DOI as a link', async () => {
      const node = await renderDetails(fakeActions());
      const table = within(node).getByRole('table', { name: 'Metadata' });
      const link = within(table).getByRole('link', {
        name: '10.5072/escape.lofar.712342'
      }) as HTMLAnchorElement;
      expect(link.href).toBe('https://doi.org/10.5072/escape.lofar.712342');
      expect(link.rel).toContain('noopener');
      expect(
        within(table).getByRole('rowheader', { name: 'energy' })
          .nextElementSibling?.textContent
      ).toBe('150');
    });

    it('shows the rules with progress, Rucio reasons and expiry; the user may extend or cancel only theirs', async () => {
      const actions = fakeActions();
      const node = await renderDetails(actions);
      const rules = within(node).getByRole('list', { name: 'Rules (2)' });
      const items = within(rules).getAllByRole('listitem');
      // The user's rule first.
      expect(items[0].getAttribute('aria-label')).toBe(
        'Rule at NOTEBOOK-LOCAL, STUCK'
      );
      const bar = within(items[0]).getByRole('progressbar');
      expect(bar.getAttribute('aria-valuetext')).toBe(
        '1 OK, 1 replicating, 1 stuck'
      );
      expect(bar.getAttribute('aria-valuemax')).toBe('3');
      expect(items[0].textContent).toContain(
        'Rucio says: Transfer failed: checksum mismatch'
      );
      expect(items[0].textContent).toContain('Your rule');
      expect(items[0].textContent).toContain('expires in 7 days');
      expect(items[1].textContent).toContain('Account root');
      expect(items[1].textContent).toContain('never expires');
      expect(within(items[1]).queryByRole('button')).toBeNull();

      fireEvent.click(
        within(items[0]).getByRole('button', {
          name: 'Extend the rule at NOTEBOOK-LOCAL'
        })
      );
      fireEvent.click(
        within(items[0]).getByRole('button', {
          name: 'Cancel the rule at NOTEBOOK-LOCAL'
        })
      );
      expect(actions.extendRule).toHaveBeenCalledWith(
        expect.objectContaining({ id: 'a'.repeat(32) })
      );
      expect(actions.cancelRule).toHaveBeenCalledWith(
        expect.objectContaining({ id: 'a'.repeat(32) })
      );
    });

    it('shows the files with their replicas per RSE and QoS class, and their paths', async () => {
      const actions = fakeActions();
      const node = await renderDetails(actions);
      const files = within(node).getByRole('list', {
        name: 'Files (2 of 3 shown)'
      });
      const [first, second] = within(files).getAllByRole('listitem', {
        name: /^lofar:L712342/
      });
      expect(
        within(first).getByRole('list', {
          name: 'Replicas of L712342_SB_000_uv.MS.tar'
        }).textContent
      ).toBe('ESCAPE-SAFESAFENOTEBOOK-LOCALFAST');
      expect(first.textContent).toContain('at the notebook');
      expect(second.textContent).toContain('stuck');
      expect(second.textContent).toContain('copying');
      expect(second.textContent).toContain(
        'Rucio says: Transfer failed: checksum mismatch'
      );

      fireEvent.click(
        within(first).getByRole('button', {
          name: 'Copy the path of L712342_SB_000_uv.MS.tar'
        })
      );
      // The link in the dataset's folder, asked for at the click; the file's own path if none.
      expect(actions.copyFilePath).toHaveBeenCalledWith(
        did,
        'lofar:L712342_SB_000_uv.MS.tar',
        '/lake/rses/notebook-local/lofar/aa/bb/L712342_SB_000_uv.MS.tar'
      );
      expect(actions.copyPath).not.toHaveBeenCalled();
      expect(within(second).queryByRole('button')).toBeNull();
    });

    it('offers the actions on the data, the local ones once some files are here', async () => {
      const actions = fakeActions();
      const node = await renderDetails(actions);
      const toolbar = within(node).getByRole('toolbar', {
        name: `Actions on ${did}`
      });
      for (const name of [
        'Open in file browser',
        'Copy path',
        'Insert paths in notebook'
      ]) {
        fireEvent.click(within(toolbar).getByRole('button', { name }));
      }
      expect(actions.openInFileBrowser).toHaveBeenCalledWith(did);
      expect(actions.copyPaths).toHaveBeenCalledWith(did);
      expect(actions.insertSnippet).toHaveBeenCalledWith(did);
      fireEvent.click(
        within(toolbar).getByRole('button', { name: 'Make available…' })
      );
      expect(actions.makeAvailable).toHaveBeenCalledWith(
        expect.objectContaining({ did, bytes: 26112, length: 3 })
      );
      fireEvent.click(within(toolbar).getByRole('button', { name: 'Watch' }));
      await waitFor(() => expect(model.watch.has(INSTANCE, did)).toBe(true));

      fireEvent.click(
        within(node).getByRole('button', { name: 'Back to the list' })
      );
      expect(model.detailsOpen).toBe(false);
    });

    it('disables the local actions while nothing is at the notebook', async () => {
      lake.states.set(did, availability(did, 'NOT_AVAILABLE'));
      await model.details.refresh();
      const node = await renderDetails(fakeActions());
      for (const name of [
        'Open in file browser',
        'Copy path',
        'Insert paths in notebook'
      ]) {
        expect(
          (within(node).getByRole('button', { name }) as HTMLButtonElement)
            .disabled
        ).toBe(true);
      }
    });
  });

  describe('panel', () => {
    it('shows who is signed in, where, and for how long; the Search tab first', async () => {
      const panel = new DataLakePanel({ model, actions: fakeActions() });
      Widget.attach(panel, document.body);
      const node = panel.node;
      const signIn = await waitFor(() =>
        within(node).getByRole('status', { name: 'Sign-in' })
      );
      expect(signIn.textContent).toMatch(
        /^Signed in as alice · token valid for (59 min|1 h)$/
      );
      expect(signIn.getAttribute('title')).toContain(
        'token from file:/lake/tokens/alice.token'
      );
      expect(node.textContent).toContain('Local data lake');
      expect(
        within(node)
          .getByRole('tab', { name: 'Search' })
          .getAttribute('aria-selected')
      ).toBe('true');
      expect(within(node).getByRole('search')).toBeTruthy();

      fireEvent.click(within(node).getByRole('tab', { name: 'Instances' }));
      await waitFor(() =>
        within(node).getByRole('listitem', { name: 'Local data lake' })
      );
      panel.dispose();
    });

    it('explains missing credentials with the server message instead of an empty list', async () => {
      const message =
        'No token found: the file /lake/tokens/alice.token does not exist. Ask JupyterHub for a new one.';
      lake.overrides.set('GET whoami', () =>
        errorResponse(401, message, 'credentials_missing')
      );
      await model.identity.refresh();
      const panel = new DataLakePanel({ model, actions: fakeActions() });
      Widget.attach(panel, document.body);
      const alert = await waitFor(() =>
        within(panel.node).getByRole('alert', { name: 'Sign-in needed' })
      );
      expect(alert.textContent).toContain(
        'You are not signed in to Local data lake.'
      );
      expect(alert.textContent).toContain(message);

      lake.overrides.clear();
      fireEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
      await waitFor(() =>
        within(panel.node).getByRole('status', { name: 'Sign-in' })
      );
      panel.dispose();
    });

    it('lists the watched data with their state under "My data"', async () => {
      lake.states.set(
        'ska:AA05_quicklook_0001',
        availability('ska:AA05_quicklook_0001', 'AVAILABLE', { total: 1 }, 4096)
      );
      model.watch.watch(INSTANCE, 'ska:AA05_quicklook_0001');
      await model.watch.refresh();
      const panel = new DataLakePanel({ model, actions: fakeActions() });
      Widget.attach(panel, document.body);
      fireEvent.click(
        await waitFor(() =>
          within(panel.node).getByRole('tab', { name: 'My data (1)' })
        )
      );
      const list = await waitFor(() =>
        within(panel.node).getByRole('list', { name: 'Watched data' })
      );
      const item = within(list).getByRole('listitem', {
        name: 'ska:AA05_quicklook_0001'
      });
      expect(within(item).getByRole('img').dataset.state).toBe('AVAILABLE');
      expect(
        item.querySelector('.jp-DLaaS-resultName')?.getAttribute('title')
      ).toBe('ska:AA05_quicklook_0001');
      fireEvent.click(
        within(item).getByRole('button', {
          name: 'Stop watching ska:AA05_quicklook_0001'
        })
      );
      await waitFor(() => expect(model.watch.entries).toHaveLength(0));
      panel.dispose();
    });
  });
});
