/** Rendering helpers for component tests (through ReactWidget, as in JupyterLab). */
import { waitFor } from '@testing-library/dom';
import { ReactWidget } from '@jupyterlab/ui-components';
import { nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';
import React from 'react';

import { IDataLakeActions, TRANSLATION_DOMAIN } from '../tokens';

export const trans = nullTranslator.load(TRANSLATION_DOMAIN);

/** Actions that record their calls. */
export function fakeActions(
  overrides: Partial<IDataLakeActions> = {}
): jest.Mocked<IDataLakeActions> {
  return {
    makeAvailable: jest.fn(async () => undefined),
    extendRule: jest.fn(async () => undefined),
    cancelRule: jest.fn(async () => undefined),
    openInFileBrowser: jest.fn(async () => undefined),
    copyPath: jest.fn(),
    copyPaths: jest.fn(async () => undefined),
    copyFilePath: jest.fn(async () => undefined),
    insertSnippet: jest.fn(async () => undefined),
    canInsertSnippet: true,
    openSettings: jest.fn(),
    ...overrides
  } as jest.Mocked<IDataLakeActions>;
}

const attached: Widget[] = [];

/** Render an element into the document; resolves once it is in the DOM. */
export async function render(
  element: JSX.Element | (() => JSX.Element)
): Promise<HTMLElement> {
  const widget =
    typeof element === 'function'
      ? ReactWidget.create(React.createElement(element))
      : ReactWidget.create(element);
  Widget.attach(widget, document.body);
  attached.push(widget);
  await waitFor(() => expect(widget.node.childElementCount).toBeGreaterThan(0));
  return widget.node;
}

/** Dispose what `render` attached (call in afterEach). */
export function cleanup(): void {
  while (attached.length > 0) {
    attached.pop()!.dispose();
  }
}

/** The open JupyterLab dialog, once it is shown. */
export async function dialog(): Promise<HTMLElement> {
  return waitFor(() => {
    const node = document.body.querySelector<HTMLElement>('.jp-Dialog');
    if (!node) {
      throw new Error('no dialog yet');
    }
    return node;
  });
}

/** Press a dialog button by its label. */
export async function pressDialogButton(label: string): Promise<void> {
  const node = await dialog();
  const button = [
    ...node.querySelectorAll<HTMLButtonElement>('.jp-Dialog-button')
  ].find(candidate => candidate.textContent?.trim() === label);
  if (!button) {
    throw new Error(`no dialog button "${label}"`);
  }
  button.click();
  await waitFor(() =>
    expect(document.body.querySelector('.jp-Dialog')).toBeNull()
  );
}
