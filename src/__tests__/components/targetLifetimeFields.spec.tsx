/**
 * The target and lifetime fields shared by the make-available dialog and
 * the make-all dialog: labelled, wired to the choice, an invalid lifetime marked.
 */
import { fireEvent, waitFor, within } from '@testing-library/dom';
import { Widget } from '@lumino/widgets';
import React from 'react';

import { MakeAllBody } from '../../attachments/MakeAllDialog';
import {
  IMakeAvailableChoice,
  isLifetimeValid,
  TargetLifetimeFields
} from '../../components/TargetLifetimeFields';
import { TARGETS } from '../fakeLake';
import { cleanup, render, trans } from '../testUtils';

afterEach(cleanup);

async function renderFields(
  value: IMakeAvailableChoice,
  onTargetChange: (targetId: string) => void = () => undefined,
  onLifetimeChange: (lifetimeDays: number) => void = () => undefined
): Promise<HTMLElement> {
  return render(
    <div>
      <TargetLifetimeFields
        id="fields"
        targets={TARGETS}
        value={value}
        onTargetChange={onTargetChange}
        onLifetimeChange={onLifetimeChange}
        trans={trans}
      />
    </div>
  );
}

describe('TargetLifetimeFields', () => {
  it('shows the targets and the lifetime under their labels', async () => {
    const node = await renderFields({ targetId: 'SAFE', lifetimeDays: 7 });

    const target = within(node).getByRole('combobox', {
      name: 'Target'
    }) as HTMLSelectElement;
    expect(target.id).toBe('fields-target');
    expect([...target.options].map(option => option.textContent)).toEqual(
      TARGETS.map(one => one.label)
    );
    expect(target.value).toBe('SAFE');
    const lifetime = within(node).getByRole('spinbutton', {
      name: 'Lifetime in days'
    }) as HTMLInputElement;
    expect(lifetime.id).toBe('fields-lifetime');
    expect(lifetime.value).toBe('7');
    expect(lifetime.getAttribute('aria-invalid')).toBe('false');
    // The visible labels point at their fields.
    const labels = [...node.querySelectorAll('label.jp-DLaaS-field')];
    expect(labels.map(label => label.textContent)).toEqual([
      'Target',
      'Lifetime (days)'
    ]);
    expect(labels.map(label => label.getAttribute('for'))).toEqual([
      'fields-target',
      'fields-lifetime'
    ]);
  });

  it("hands each field's change on by itself", async () => {
    const onTargetChange = jest.fn();
    const onLifetimeChange = jest.fn();
    const node = await renderFields(
      { targetId: 'notebook', lifetimeDays: 7 },
      onTargetChange,
      onLifetimeChange
    );

    fireEvent.change(within(node).getByRole('combobox'), {
      target: { value: 'CHEAP' }
    });
    expect(onTargetChange).toHaveBeenCalledWith('CHEAP');
    fireEvent.change(within(node).getByRole('spinbutton'), {
      target: { value: '30' }
    });
    expect(onLifetimeChange).toHaveBeenCalledWith(30);
    fireEvent.change(within(node).getByRole('spinbutton'), {
      target: { value: '' }
    });
    expect(onLifetimeChange).toHaveBeenLastCalledWith(NaN);
    expect(onTargetChange).toHaveBeenCalledTimes(1);
  });

  it('marks an emptied or non-positive lifetime invalid and shows it empty when not a number', async () => {
    const emptied = await renderFields({
      targetId: 'notebook',
      lifetimeDays: NaN
    });
    const field = within(emptied).getByRole('spinbutton') as HTMLInputElement;
    expect(field.value).toBe('');
    expect(field.getAttribute('aria-invalid')).toBe('true');

    const zero = await renderFields({ targetId: 'notebook', lifetimeDays: 0 });
    expect(
      within(zero).getByRole('spinbutton').getAttribute('aria-invalid')
    ).toBe('true');
  });
});

describe('the make-all dialog body', () => {
  it('takes its target and lifetime from the shared fields', async () => {
    const body = new MakeAllBody({
      entries: [],
      targets: TARGETS,
      defaultTargetId: 'notebook',
      defaultLifetimeDays: 14,
      trans,
      preview: () => {
        throw new Error('no DID to preview');
      }
    });
    Widget.attach(body, document.body);
    try {
      const lifetime = await waitFor(() =>
        within(body.node).getByRole('spinbutton', { name: 'Lifetime in days' })
      );
      expect((lifetime as HTMLInputElement).value).toBe('14');

      fireEvent.change(
        within(body.node).getByRole('combobox', { name: 'Target' }),
        { target: { value: 'SAFE' } }
      );
      fireEvent.change(lifetime, { target: { value: '3' } });
      expect(body.getValue()).toEqual({
        targetId: 'SAFE',
        lifetimeDays: 3,
        entries: []
      });

      fireEvent.change(lifetime, { target: { value: '' } });
      expect(body.getValue()).toBeNull();
      await waitFor(() =>
        expect(lifetime.getAttribute('aria-invalid')).toBe('true')
      );
    } finally {
      body.dispose();
    }
  });
});

describe('isLifetimeValid', () => {
  it('takes a number of days above zero only', () => {
    expect(isLifetimeValid(1)).toBe(true);
    expect(isLifetimeValid(0.5)).toBe(true);
    expect(isLifetimeValid(0)).toBe(false);
    expect(isLifetimeValid(-3)).toBe(false);
    expect(isLifetimeValid(NaN)).toBe(false);
    expect(isLifetimeValid(Infinity)).toBe(false);
  });
});
