/** The panel model the component tests render against: a fake lake, its status and targets loaded. */
import { UseSignal } from '@jupyterlab/ui-components';
import { waitFor } from '@testing-library/dom';
import React from 'react';

import { DataLakeModel } from '../../models/datalake';
import { FakeLake } from '../fakeLake';
import { cleanup } from '../testUtils';

/** A fake lake and a visible panel model on it, refreshed (dispose the model after). */
export async function panelModel(): Promise<{
  lake: FakeLake;
  model: DataLakeModel;
}> {
  const lake = new FakeLake();
  const model = new DataLakeModel({
    frontendVersion: '0.1.0',
    serverSettings: lake.settings,
    preferences: { searchPageSize: 100 }
  });
  model.panelVisible = true;
  await model.refresh();
  await waitFor(() => expect(model.catalogue.targets).not.toBeNull());
  return { lake, model };
}

/** A component re-rendering `element` at every change of the model. */
export function live(
  model: DataLakeModel,
  element: () => JSX.Element
): () => JSX.Element {
  function Live(): JSX.Element {
    return <UseSignal signal={model.changed}>{() => element()}</UseSignal>;
  }
  return Live;
}

/**
 * For a spec file: a fresh fake lake and panel model before each test (handed to `use`),
 * the model disposed and the rendered nodes removed after each.
 */
export function panelModelForEachTest(
  use: (made: { lake: FakeLake; model: DataLakeModel }) => void
): void {
  let current: DataLakeModel | null = null;
  beforeEach(async () => {
    const made = await panelModel();
    current = made.model;
    use(made);
  });
  afterEach(() => {
    cleanup();
    current?.dispose();
  });
}
