/**
 * Which service is down, and what the user can do: the instance cards, the
 * identity bar (a 503 of the token issuer is not "sign in again"), and the
 * rules' Extend and Cancel only where the lake lets users use them.
 */
import { fireEvent, waitFor, within } from '@testing-library/dom';
import { Widget } from '@lumino/widgets';
import React from 'react';

import { DataLakeRequestError } from '../../api/request';
import { DataLakePanel } from '../../components/DataLakePanel';
import { RulesSection } from '../../components/DetailsView';
import { InstanceCard } from '../../components/InstanceCard';
import { DataLakeModel } from '../../models/datalake';
import { until } from '../async';
import { errorResponse, FakeLake, rule } from '../fakeLake';
import { jsonResponse, makeInstance, makeStatus } from '../fakeServer';
import { cleanup, fakeActions, render, trans } from '../testUtils';

afterEach(() => cleanup());

/** The text of the definition after the term `term` in a card. */
function definition(card: HTMLElement, term: string): string | null {
  const dt = [...card.querySelectorAll('dt')].find(
    candidate => candidate.textContent === term
  );
  return dt?.nextElementSibling?.textContent ?? null;
}

/** What the card says the user can do. */
function advice(card: HTMLElement): string | null {
  return card.querySelector('.jp-DLaaS-instanceAdvice')?.textContent ?? null;
}

describe('InstanceCard', () => {
  async function card(
    ...args: Parameters<typeof makeInstance>
  ): Promise<HTMLElement> {
    const node = await render(
      <ul>
        <InstanceCard
          instance={makeInstance(...args)}
          isDefault={false}
          trans={trans}
        />
      </ul>
    );
    return within(node).getByRole('listitem');
  }

  it('says Rucio and its database answer', async () => {
    const item = await card({ database: 'ok' });
    expect(definition(item, 'Status')).toBe('Reachable');
    expect(definition(item, 'Database')).toBe('Answers');
    expect(definition(item, 'Problem')).toBeNull();
    expect(
      item.querySelector('.jp-DLaaS-reachabilityDot')?.classList
    ).toContain('jp-mod-reachable');
  });

  it('says when the database has not been checked yet', async () => {
    const item = await card({ database: 'unknown' });
    expect(definition(item, 'Status')).toBe('Reachable');
    expect(definition(item, 'Database')).toBe(
      'Not checked yet (it needs your sign-in)'
    );
  });

  it('names Rucio\'s database when it is down, never "Reachable"', async () => {
    const error =
      "Rucio at http://127.0.0.1:18080 answers, but cannot reach its database. Searches and requests fail until the data lake's operators bring the database back.";
    const item = await card({
      reachable: false,
      database: 'unavailable',
      error
    });
    expect(item.textContent).not.toContain('Reachable');
    expect(definition(item, 'Status')).toBe(
      "Rucio's database is not answering"
    );
    // Rucio's front answers: its version is known.
    expect(definition(item, 'Rucio version')).toBe('41.5.1');
    expect(definition(item, 'Database')).toBe('Not answering');
    expect(definition(item, 'Problem')).toBe(error);
    expect(advice(item)).toContain(
      "until the data lake's operators bring its database back"
    );
    expect(
      item.querySelector('.jp-DLaaS-reachabilityDot')?.classList
    ).toContain('jp-mod-unreachable');
  });

  it('says Rucio does not answer, and what to do', async () => {
    const item = await card({
      reachable: false,
      rucio_version: null,
      latency_ms: null,
      error: 'Rucio at http://127.0.0.1:18080 is not answering.'
    });
    expect(definition(item, 'Status')).toBe('Not reachable');
    expect(definition(item, 'Database')).toBeNull();
    expect(definition(item, 'Problem')).toBe(
      'Rucio at http://127.0.0.1:18080 is not answering.'
    );
    expect(advice(item)).toContain(
      'Nothing is wrong with your sign-in or your request'
    );
  });

  it('names the token issuer when the sign-in could not be checked because of it', async () => {
    const message =
      'Your sign-in for Local data lake has expired and cannot be renewed: the token issuer https://127.0.0.1:18443/ is not answering. Try again once it answers.';
    const node = await render(
      <ul>
        <InstanceCard
          instance={makeInstance({ database: 'ok' })}
          isDefault={false}
          signInError={
            new DataLakeRequestError(
              message,
              503,
              'service_not_answering',
              undefined,
              'token issuer'
            )
          }
          trans={trans}
        />
      </ul>
    );
    const item = within(node).getByRole('listitem');
    expect(definition(item, 'Status')).toBe(
      'The token issuer is not answering'
    );
    expect(definition(item, 'Problem')).toBe(message);
    expect(advice(item)).toContain('Signing in again does not help');
  });
});

describe('the panel while a service is down', () => {
  let lake: FakeLake;
  let model: DataLakeModel;
  let panel: DataLakePanel;

  beforeEach(() => {
    lake = new FakeLake();
    model = new DataLakeModel({
      frontendVersion: '0.1.0',
      serverSettings: lake.settings
    });
    model.panelVisible = true;
  });

  afterEach(() => {
    panel?.dispose();
    model.dispose();
  });

  async function show(): Promise<HTMLElement> {
    await model.refresh();
    await until(() => model.identity.state !== 'loading', 'the sign-in');
    panel = new DataLakePanel({ model, actions: fakeActions() });
    Widget.attach(panel, document.body);
    await waitFor(() =>
      within(panel.node).getByRole('heading', { name: 'Data Lake' })
    );
    return panel.node;
  }

  it('names the token issuer instead of asking to sign in again (503, not 401)', async () => {
    const message =
      'Your sign-in for Local data lake has expired and cannot be renewed: the token issuer https://127.0.0.1:18443/ is not answering. Try again once it answers.';
    lake.overrides.set('GET whoami', () =>
      jsonResponse(
        {
          message,
          reason: 'service_not_answering',
          service: 'token issuer'
        },
        503
      )
    );
    const node = await show();
    const alert = await waitFor(() =>
      within(node).getByRole('alert', {
        name: 'The token issuer is not answering'
      })
    );
    expect(alert.textContent).toContain(message);
    expect(alert.textContent).toContain('Signing in again does not help');
    expect(
      within(node).queryByRole('alert', { name: 'Sign-in needed' })
    ).toBeNull();
    expect(node.textContent).not.toContain('You are not signed in');

    // The Instances tab says the same of the selected instance.
    fireEvent.click(within(node).getByRole('tab', { name: 'Instances' }));
    const card = await waitFor(() =>
      within(node).getByRole('listitem', { name: 'Local data lake' })
    );
    expect(definition(card, 'Status')).toBe(
      'The token issuer is not answering'
    );

    // Back: Retry asks again, and the alert goes.
    lake.overrides.clear();
    fireEvent.click(within(alert).getByRole('button', { name: 'Retry' }));
    await waitFor(() => within(node).getByRole('status', { name: 'Sign-in' }));
    expect(definition(card, 'Status')).toBe('Reachable');
  });

  it("names Rucio's database when the sign-in check meets it down", async () => {
    const message =
      'Cannot find out who you are: Rucio at http://127.0.0.1:18080 cannot reach its database, so it can neither find nor change data right now. This is a fault of the data lake, not of your request: its operators have to bring the database back; try again later.';
    lake.overrides.set('GET whoami', () =>
      jsonResponse(
        { message, reason: 'rucio_database_unavailable', service: 'Rucio' },
        503
      )
    );
    lake.overrides.set('GET status', () =>
      jsonResponse(
        makeStatus({
          instances: [
            makeInstance({
              reachable: false,
              database: 'unavailable',
              error:
                'Rucio at http://127.0.0.1:18080 answers, but cannot reach its database.'
            })
          ]
        })
      )
    );
    const node = await show();
    const alert = await waitFor(() =>
      within(node).getByRole('alert', {
        name: "Rucio's database is not answering"
      })
    );
    expect(alert.textContent).toContain(message);
    expect(
      within(node).queryByRole('alert', { name: 'Sign-in needed' })
    ).toBeNull();
  });

  it('still asks to sign in again for a real 401', async () => {
    lake.overrides.set('GET whoami', () =>
      errorResponse(
        401,
        'The token from file:/lake/tokens/alice.token expired 3 min ago. Sign in again.',
        'credentials_expired'
      )
    );
    const node = await show();
    await waitFor(() =>
      within(node).getByRole('alert', { name: 'Sign-in needed' })
    );
    expect(node.textContent).not.toContain('is not answering');
  });
});

describe('RulesSection', () => {
  const mine = {
    did: 'lofar:L2023_712342_HBA',
    account: 'alice',
    rse_expression: 'NOTEBOOK-LOCAL',
    state: 'OK'
  };

  async function rules(
    ...overrides: Parameters<typeof rule>[0][]
  ): Promise<{ node: HTMLElement; actions: ReturnType<typeof fakeActions> }> {
    const actions = fakeActions();
    const node = await render(
      <RulesSection
        rules={overrides.map((one, i) =>
          rule({ ...mine, id: `${i}`.repeat(32), ...one })
        )}
        account="alice"
        actions={actions}
        trans={trans}
        now={Date.parse('2026-11-23T12:00:00Z')}
      />
    );
    return { node, actions };
  }

  it('offers Extend and Cancel where the server says they work', async () => {
    const { node, actions } = await rules({
      can_extend: true,
      can_cancel: true
    });
    fireEvent.click(
      within(node).getByRole('button', {
        name: 'Extend the rule at NOTEBOOK-LOCAL'
      })
    );
    fireEvent.click(
      within(node).getByRole('button', {
        name: 'Cancel the rule at NOTEBOOK-LOCAL'
      })
    );
    expect(actions.extendRule).toHaveBeenCalledTimes(1);
    expect(actions.cancelRule).toHaveBeenCalledTimes(1);
    expect(within(node).queryByRole('note')).toBeNull();
  });

  it('offers no Extend on a lake that does not let users extend rules, and says why', async () => {
    const { node } = await rules({ can_extend: false, can_cancel: true });
    const item = within(node).getByRole('listitem');
    expect(within(item).queryByRole('button', { name: /^Extend/ })).toBeNull();
    expect(
      within(item).getByRole('button', {
        name: 'Cancel the rule at NOTEBOOK-LOCAL'
      })
    ).toBeTruthy();
    expect(within(item).getByRole('note').textContent).toBe(
      'This data lake does not let users extend rules: the copies are kept until the rule expires; make the data available again after that.'
    );
  });

  it('offers neither where neither works, nor on a locked rule', async () => {
    const { node } = await rules(
      { can_extend: false, can_cancel: false },
      {
        rse_expression: 'QOS=SAFE',
        locked: true,
        can_extend: false,
        can_cancel: false
      }
    );
    expect(within(node).queryAllByRole('button')).toEqual([]);
    const [open, locked] = within(node).getAllByRole('listitem');
    expect(within(open).getByRole('note').textContent).toContain(
      'does not let users extend or cancel rules'
    );
    expect(locked.textContent).toContain('locked');
    expect(within(locked).getByRole('note').textContent).toContain(
      'This rule is locked'
    );
  });
});
