/**
 * The Data Lake panel's own state: which tab is shown, and what the panel
 * keeps across page reloads (in JupyterLab's IStateDB).
 */
import { DetailsModel } from './details';
import { SearchModel } from './search';
import { ISearchDraft, validDraft } from './searchDraft';
import { WatchModel } from './watch';
import { IWatchedState } from './watchedEntries';

/** The panel's tabs, in display order. */
export const PANEL_TABS = [
  'search',
  'watched',
  'notebook',
  'basket',
  'instances'
] as const;

export type PanelTab = (typeof PANEL_TABS)[number];

/** What the panel keeps across page reloads (IStateDB). */
export interface IPersistentState {
  instance: string | null;
  tab: PanelTab;
  watched: IWatchedState;
  search: Partial<ISearchDraft>;
  details: { instance: string; did: string } | null;
}

/**
 * The parts of a saved state that have the right types (a previous version,
 * or another extension, may have saved anything). The watched set is checked
 * by WatchModel.restore.
 */
export function readSavedState(
  saved: Partial<IPersistentState>
): Partial<IPersistentState> {
  const state: Partial<IPersistentState> = { watched: saved.watched };
  if (typeof saved.instance === 'string') {
    state.instance = saved.instance;
  }
  if ((PANEL_TABS as readonly unknown[]).includes(saved.tab)) {
    state.tab = saved.tab;
  }
  if (saved.search && typeof saved.search === 'object') {
    state.search = validDraft(saved.search);
  }
  if (
    saved.details &&
    typeof saved.details.instance === 'string' &&
    typeof saved.details.did === 'string'
  ) {
    state.details = {
      instance: saved.details.instance,
      did: saved.details.did
    };
  }
  return state;
}

/** What to save of the panel: the instance chosen, the tab, the watched DIDs, the search form, the DID shown. */
export function stateToSave(
  instance: string | null,
  tab: PanelTab,
  models: { search: SearchModel; watch: WatchModel; details: DetailsModel }
): IPersistentState {
  const { search, watch, details } = models;
  const { pattern, scope, type, filterText, builderOpen } = search.draft;
  return {
    instance,
    tab,
    watched: watch.toJSON(),
    search: { pattern, scope, type, filterText, builderOpen },
    details:
      details.instance !== null && details.did !== null
        ? { instance: details.instance, did: details.did }
        : null
  };
}
