import React from 'react';

export interface IVirtualListProps<T> {
  items: readonly T[];
  /** Height of every row, in pixels (rows must not grow). */
  rowHeight: number;
  /** Stable key of an item. */
  itemKey: (item: T) => string;
  /**
   * A row's content. It must be an element with role="listitem"; `focused`
   * says whether it holds the list's keyboard focus (tabIndex 0).
   */
  renderRow: (item: T, index: number, focused: boolean) => JSX.Element;
  /** Accessible name of the list. */
  ariaLabel: string;
  /** Called when the rows shown come near the end (to load the next page). */
  onEndReached?: () => void;
  /** How many rows before the end count as near it. */
  endThreshold?: number;
  /** Rows rendered above and below the visible ones. */
  overscan?: number;
  /** Height assumed before the list is laid out (and in tests). */
  initialHeight?: number;
  className?: string;
}

/**
 * A windowed list: only the rows in view (plus a few) are in the DOM, so
 * thousands of results scroll smoothly. Arrow keys, Home and End move the
 * focus between rows; Tab enters and leaves the list once.
 */
export function VirtualList<T>(props: IVirtualListProps<T>): JSX.Element {
  const {
    items,
    rowHeight,
    itemKey,
    renderRow,
    ariaLabel,
    onEndReached,
    endThreshold = 10,
    overscan = 6,
    initialHeight = 400,
    className
  } = props;
  const ref = React.useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = React.useState(0);
  const [height, setHeight] = React.useState(initialHeight);
  const [focusIndex, setFocusIndex] = React.useState(0);
  /** Row to give the DOM focus once rendered (keyboard moves), or null. */
  const pendingFocus = React.useRef<number | null>(null);

  // Follow the list's size (the sidebar can be resized).
  React.useLayoutEffect(() => {
    const node = ref.current;
    if (!node) {
      return;
    }
    const measure = () => setHeight(node.clientHeight || initialHeight);
    measure();
    if (typeof ResizeObserver === 'undefined') {
      return;
    }
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    return () => observer.disconnect();
  }, [initialHeight]);

  // A new list (another search) starts at the top.
  const firstKey = items.length > 0 ? itemKey(items[0]) : null;
  const shownFirstKey = React.useRef(firstKey);
  React.useEffect(() => {
    if (shownFirstKey.current === firstKey) {
      return;
    }
    shownFirstKey.current = firstKey;
    setFocusIndex(0);
    setScrollTop(0);
    if (ref.current) {
      ref.current.scrollTop = 0;
    }
  }, [firstKey]);

  const count = items.length;
  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(
    count,
    Math.ceil((scrollTop + height) / rowHeight) + overscan
  );
  const safeFocus = Math.min(focusIndex, Math.max(0, count - 1));

  React.useEffect(() => {
    if (onEndReached && count > 0 && last >= count - endThreshold) {
      onEndReached();
    }
  }, [last, count, endThreshold, onEndReached]);

  // Move the DOM focus once the row moved to is rendered as the focused one
  // (an effect of an earlier render may run first: it finds nothing to focus).
  React.useEffect(() => {
    const target = pendingFocus.current;
    if (target === null || !ref.current) {
      return;
    }
    const row = ref.current.querySelector<HTMLElement>(
      `[data-index="${target}"] [tabindex="0"]`
    );
    if (row) {
      pendingFocus.current = null;
      row.focus();
    }
  });

  const moveFocus = (index: number) => {
    const target = Math.max(0, Math.min(count - 1, index));
    const node = ref.current;
    if (node) {
      const top = target * rowHeight;
      if (top < node.scrollTop) {
        node.scrollTop = top;
      } else if (top + rowHeight > node.scrollTop + height) {
        node.scrollTop = top + rowHeight - height;
      }
      setScrollTop(node.scrollTop);
    }
    pendingFocus.current = target;
    setFocusIndex(target);
  };

  const onKeyDown = (event: React.KeyboardEvent) => {
    const page = Math.max(1, Math.floor(height / rowHeight) - 1);
    const moves: Record<string, number> = {
      ArrowDown: safeFocus + 1,
      ArrowUp: safeFocus - 1,
      PageDown: safeFocus + page,
      PageUp: safeFocus - page,
      Home: 0,
      End: count - 1
    };
    if (event.key in moves && count > 0) {
      event.preventDefault();
      moveFocus(moves[event.key]);
    }
  };

  const rows: JSX.Element[] = [];
  for (let index = first; index < last; index++) {
    const item = items[index];
    rows.push(
      <div
        key={itemKey(item)}
        role="none"
        className="jp-DLaaS-virtualRow"
        data-index={index}
        style={{ top: index * rowHeight, height: rowHeight }}
        onFocus={() => setFocusIndex(index)}
      >
        {renderRow(item, index, index === safeFocus)}
      </div>
    );
  }

  return (
    <div
      ref={ref}
      className={`jp-DLaaS-virtualList ${className ?? ''}`}
      role="list"
      aria-label={ariaLabel}
      onScroll={event => setScrollTop(event.currentTarget.scrollTop)}
      onKeyDown={onKeyDown}
    >
      <div
        className="jp-DLaaS-virtualSpacer"
        role="none"
        style={{ height: count * rowHeight }}
      >
        {rows}
      </div>
    </div>
  );
}
