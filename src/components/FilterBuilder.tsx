import { TranslationBundle } from '@jupyterlab/translation';
import { addIcon, closeIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { FilterOperator } from '../api/types';
import {
  emptyRow,
  IFilterRow,
  isIsoDate,
  KeyKinds,
  rowKind
} from '../filters/builder';
import { OPERATORS } from '../filters/conditions';

export interface IFilterBuilderProps {
  rows: IFilterRow[][];
  onChange: (rows: IFilterRow[][]) => void;
  /** Known metadata keys, suggested in the key boxes. */
  keys: string[];
  /** The kind of each key (number, date...), from the results seen. */
  kinds: KeyKinds;
  trans: TranslationBundle;
}

/**
 * Rows of key / operator / value: AND within a group, OR between groups.
 * Keys are suggested from the instance's metadata keys; a value box takes
 * numbers or dates where the key holds them.
 */
export function FilterBuilder(props: IFilterBuilderProps): JSX.Element {
  const { rows, onChange, keys, kinds, trans } = props;
  const listId = `jp-DLaaS-keys-${React.useId()}`;

  const setRow = (g: number, c: number, change: Partial<IFilterRow>) => {
    onChange(
      rows.map((group, gi) =>
        gi === g
          ? group.map((row, ci) => (ci === c ? { ...row, ...change } : row))
          : group
      )
    );
  };
  const removeRow = (g: number, c: number) => {
    const next = rows
      .map((group, gi) =>
        gi === g ? group.filter((_, ci) => ci !== c) : group
      )
      .filter(group => group.length > 0);
    onChange(next.length > 0 ? next : [[emptyRow()]]);
  };
  const addRow = (g: number) => {
    onChange(
      rows.map((group, gi) => (gi === g ? [...group, emptyRow()] : group))
    );
  };
  const addGroup = () => onChange([...rows, [emptyRow()]]);

  return (
    <div
      className="jp-DLaaS-filterBuilder"
      role="group"
      aria-label={trans.__('Filter builder')}
    >
      <datalist id={listId}>
        {keys.map(key => (
          <option key={key} value={key} />
        ))}
      </datalist>
      {rows.map((group, g) => (
        <React.Fragment key={g}>
          {g > 0 && (
            <div className="jp-DLaaS-filterOr" aria-hidden="true">
              {trans.__('or')}
            </div>
          )}
          <div
            className="jp-DLaaS-filterGroup"
            role="group"
            aria-label={trans.__('Condition group %1', g + 1)}
          >
            {group.map((row, c) => {
              const where = trans.__('group %1, condition %2', g + 1, c + 1);
              const kind = rowKind(row, kinds);
              const inputType =
                kind === 'number'
                  ? 'number'
                  : kind === 'date' &&
                      (row.value === '' || isIsoDate(row.value))
                    ? 'date'
                    : 'text';
              return (
                <React.Fragment key={c}>
                  {c > 0 && (
                    <div className="jp-DLaaS-filterAnd" aria-hidden="true">
                      {trans.__('and')}
                    </div>
                  )}
                  <div className="jp-DLaaS-filterRow">
                    <input
                      className="jp-DLaaS-input jp-DLaaS-filterKey"
                      list={listId}
                      aria-label={trans.__('Key, %1', where)}
                      placeholder={trans.__('key')}
                      value={row.key}
                      spellCheck={false}
                      autoComplete="off"
                      onChange={event =>
                        setRow(g, c, { key: event.target.value })
                      }
                    />
                    <select
                      className="jp-DLaaS-select jp-DLaaS-filterOp"
                      aria-label={trans.__('Operator, %1', where)}
                      value={row.op}
                      onChange={event =>
                        setRow(g, c, {
                          op: event.target.value as FilterOperator
                        })
                      }
                    >
                      {OPERATORS.map(op => (
                        <option key={op} value={op}>
                          {op}
                        </option>
                      ))}
                    </select>
                    <input
                      className="jp-DLaaS-input jp-DLaaS-filterValue"
                      type={inputType}
                      step={inputType === 'number' ? 'any' : undefined}
                      aria-label={trans.__('Value, %1', where)}
                      placeholder={
                        kind === 'number'
                          ? trans.__('number')
                          : trans.__('value')
                      }
                      value={row.value}
                      spellCheck={false}
                      onChange={event =>
                        setRow(g, c, { value: event.target.value })
                      }
                    />
                    <button
                      type="button"
                      className="jp-DLaaS-iconButton"
                      aria-label={trans.__('Remove condition, %1', where)}
                      title={trans.__('Remove condition')}
                      onClick={() => removeRow(g, c)}
                    >
                      <closeIcon.react tag="span" elementSize="small" />
                    </button>
                  </div>
                </React.Fragment>
              );
            })}
            <button
              type="button"
              className="jp-DLaaS-linkButton"
              aria-label={trans.__('Add an AND condition to group %1', g + 1)}
              onClick={() => addRow(g)}
            >
              <addIcon.react tag="span" elementSize="small" />
              {trans.__('and…')}
            </button>
          </div>
        </React.Fragment>
      ))}
      <button
        type="button"
        className="jp-DLaaS-linkButton"
        aria-label={trans.__('Add an OR group')}
        onClick={addGroup}
      >
        <addIcon.react tag="span" elementSize="small" />
        {trans.__('or…')}
      </button>
    </div>
  );
}
