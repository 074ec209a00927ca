/** The virtual list: only the rows in view are in the DOM, one tab stop. */
import { fireEvent, waitFor, within } from '@testing-library/dom';
import React from 'react';

import { VirtualList } from '../../components/VirtualList';
import { cleanup, render } from '../testUtils';

afterEach(() => cleanup());

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
