/** The make-available form: targets, lifetime and the volume it would copy. */
import { fireEvent, waitFor, within } from '@testing-library/dom';
import { Widget } from '@lumino/widgets';
import React from 'react';

import {
  dataToMove,
  MakeAvailableBody,
  MakeAvailableForm
} from '../../components/MakeAvailableForm';
import { availability, TARGETS } from '../fakeLake';
import { cleanup, render, trans } from '../testUtils';

afterEach(() => cleanup());

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
