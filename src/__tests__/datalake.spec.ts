import { DataLakeModel } from '../model';
import { ITransfer } from '../transfers';
import {
  availability,
  errorResponse,
  FakeLake,
  INSTANCE,
  rule,
  searchItem,
  TARGETS,
  whoami
} from './fakeLake';
import { jsonResponse, makeInstance, makeStatus } from './fakeServer';

/** Let pending promises and zero-delay timers run. */
async function flush(ms = 0): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms));
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (check()) {
      return;
    }
    await flush(5);
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('DataLakeModel with a lake', () => {
  let lake: FakeLake;
  let model: DataLakeModel;

  async function ready(): Promise<void> {
    model = new DataLakeModel({
      frontendVersion: '0.1.0',
      serverSettings: lake.settings,
      preferences: {
        pollInterval: 30,
        transferPollInterval: 5,
        searchPageSize: 2
      }
    });
    model.panelVisible = true;
    await model.refresh();
    await until(() => model.catalogue.targets !== null, 'the pickers');
  }

  beforeEach(async () => {
    lake = new FakeLake();
  });

  afterEach(() => {
    model?.dispose();
  });

  describe('identity', () => {
    it('knows who the user is and until when, with the pickers of the instance', async () => {
      await ready();
      expect(model.instanceName).toBe(INSTANCE);
      expect(model.identity.state).toBe('signed-in');
      expect(model.identity.whoami?.account).toBe('alice');
      expect(model.identity.whoami?.token.expires_in).toBe(3600);
      expect(model.identity.receivedAt).toBeLessThanOrEqual(Date.now());
      expect(model.catalogue.scopes).toEqual(['cta', 'km3net', 'lofar', 'ska']);
      expect(model.catalogue.metadataKeys).toContain('energy');
      expect(model.catalogue.targets).toEqual(TARGETS);
      expect(model.defaultTarget?.id).toBe('notebook');
      model.preferences = { ...model.preferences, defaultTarget: 'SAFE' };
      expect(model.defaultTarget?.id).toBe('SAFE');
    });

    it('turns a 401 anywhere into "signed out" with the server message, and recovers', async () => {
      await ready();
      const message =
        'The token from file:/lake/tokens/alice.token expired 2 min ago. Ask JupyterHub for a new one (log out and in).';
      lake.overrides.set('GET search', () =>
        errorResponse(401, message, 'credentials_expired')
      );
      lake.overrides.set('GET whoami', () =>
        errorResponse(401, message, 'credentials_expired')
      );
      model.search.setPattern('*');
      await model.search.run();

      expect(model.identity.state).toBe('signed-out');
      expect(model.identity.error?.message).toBe(message);
      expect(model.search.error?.status).toBe(401);

      lake.overrides.clear();
      await model.refreshIdentity();
      expect(model.identity.state).toBe('signed-in');
    });

    it('keeps other failures apart from sign-in', async () => {
      lake.overrides.set('GET whoami', () =>
        errorResponse(
          502,
          'Rucio at http://127.0.0.1:1 did not answer.',
          'service_unavailable'
        )
      );
      await ready().catch(() => undefined);
      await until(() => model.identity.state === 'error', 'the identity error');
      expect(model.identity.error?.message).toBe(
        'Rucio at http://127.0.0.1:1 did not answer.'
      );
    });

    it('switches instance: new identity, no old results', async () => {
      lake.overrides.set('GET status', () =>
        jsonResponse(
          makeStatus({
            instances: [
              makeInstance(),
              makeInstance({ name: 'cern', display_name: 'CERN' })
            ]
          })
        )
      );
      await ready();
      model.search.setPattern('*');
      await model.search.run();
      expect(model.search.items.length).toBeGreaterThan(0);

      model.selectInstance('cern');
      expect(model.instanceName).toBe('cern');
      expect(model.search.items).toEqual([]);
      expect(model.identity.state).not.toBe('signed-in');
      expect(model.persistentState.instance).toBe('cern');
    });
  });

  describe('search', () => {
    it('sends the form as one query and pages in with the cursor', async () => {
      await ready();
      model.search.setPattern('L2023*');
      model.search.setScope('lofar');
      model.search.setType('dataset');
      model.search.setFilterText('telescope=lofar,energy>140;telescope=ska');
      await model.search.run();

      const [query] = lake.queries('GET search');
      expect(query.get('q')).toBe('L2023*');
      expect(query.get('scope')).toBe('lofar');
      expect(query.get('type')).toBe('dataset');
      expect(query.get('page_size')).toBe('2');
      expect(JSON.parse(query.get('filters')!)).toEqual([
        [
          { key: 'telescope', op: '=', value: 'lofar' },
          { key: 'energy', op: '>', value: 140 }
        ],
        [{ key: 'telescope', op: '=', value: 'ska' }]
      ]);
      expect(model.search.items.map(item => item.did)).toEqual([
        'lofar:L2023_712342_HBA',
        'lofar:L2023_712343_HBA'
      ]);
      expect(model.search.hasMore).toBe(true);

      await model.search.loadMore();
      expect(lake.queries('GET search')[1].get('cursor')).toBe('2');
      expect(model.search.items).toHaveLength(3);
      expect(model.search.hasMore).toBe(false);
      // Nothing more to load: no request.
      await model.search.loadMore();
      expect(lake.count('GET search')).toBe(2);
      // Kinds of keys were learnt from the results.
      expect(model.search.keyKinds).toMatchObject({
        energy: 'number',
        obs_date: 'date'
      });
    });

    it('shows the names at once, then describes the page in one request', async () => {
      await ready();
      const available = 'lofar:L2023_712343_HBA';
      let release: () => void = () => undefined;
      lake.overrides.set('POST describe', async () => {
        await new Promise<void>(resolve => (release = resolve));
        return jsonResponse({
          items: [
            searchItem('lofar:L2023_712342_HBA'),
            searchItem(available, {
              availability: availability(available, 'AVAILABLE')
            })
          ]
        });
      });
      model.search.setPattern('L2023*');
      const running = model.search.run();
      await until(() => model.search.items.length === 2, 'the names');
      expect(lake.queries('GET search')[0].get('details')).toBe('names');
      expect(model.search.state).toBe('ready');
      expect(model.search.items[0].metadata).toBeUndefined();
      expect(model.search.items[0].availability).toBeUndefined();

      release();
      await running;
      expect(await lake.bodies('POST describe')).toEqual([
        { dids: ['lofar:L2023_712342_HBA', 'lofar:L2023_712343_HBA'] }
      ]);
      expect(model.search.items.map(item => item.availability?.state)).toEqual([
        'NOT_AVAILABLE',
        'AVAILABLE'
      ]);
      expect(model.search.items[1].metadata).toMatchObject({
        telescope: 'lofar'
      });
    });

    it('keeps the rows when describing them fails, and says why', async () => {
      await ready();
      lake.overrides.set('POST describe', () =>
        errorResponse(504, 'Rucio did not answer within 30 s', 'timeout')
      );
      model.search.setPattern('L2023*');
      await model.search.run();
      expect(model.search.items.map(item => item.did)).toEqual([
        'lofar:L2023_712342_HBA',
        'lofar:L2023_712343_HBA'
      ]);
      expect(model.search.state).toBe('error');
      expect(model.search.error?.message).toBe(
        'Rucio did not answer within 30 s'
      );
    });

    it('does not send an invalid filter, and says why', async () => {
      await ready();
      model.search.setFilterText('energy>>3');
      await model.search.run();
      expect(lake.count('GET search')).toBe(0);
      // The same words as escape_dlaas/filters.py: '>>' reads as a range without a key.
      expect(model.search.filterError).toBe(
        "group 1, condition 1: '' is not a valid metadata key (letters, digits and '_', starting with a letter)"
      );
    });

    it("shows the server's message when it refuses a search", async () => {
      await ready();
      lake.overrides.set('GET search', () =>
        errorResponse(
          400,
          'type a name pattern (e.g. *.fits) or add a metadata filter',
          'empty_search'
        )
      );
      await model.search.run();
      expect(model.search.state).toBe('error');
      expect(model.search.error?.message).toBe(
        'type a name pattern (e.g. *.fits) or add a metadata filter'
      );
    });

    it('keeps only the latest of overlapping searches', async () => {
      await ready();
      let release: () => void = () => undefined;
      lake.overrides.set('GET search', async () => {
        await new Promise<void>(resolve => (release = resolve));
        return jsonResponse({
          items: [searchItem('old:result')],
          next_cursor: null
        });
      });
      model.search.setPattern('first*');
      const first = model.search.run();
      await flush();
      lake.overrides.delete('GET search');
      model.search.setPattern('second*');
      await model.search.run();
      release();
      await first;
      expect(model.search.items.map(item => item.did)).not.toContain(
        'old:result'
      );
      expect(model.search.state).toBe('ready');
    });

    it('keeps builder and text in sync both ways', async () => {
      await ready();
      model.search.setFilterText('telescope=lofar,energy>140');
      expect(model.search.draft.filterRows).toEqual([
        [
          { key: 'telescope', op: '=', value: 'lofar' },
          { key: 'energy', op: '>', value: '140', kind: 'number' }
        ]
      ]);
      model.search.setFilterRows([
        ...model.search.draft.filterRows,
        [{ key: 'telescope', op: '=', value: 'ska' }]
      ]);
      expect(model.search.draft.filterText).toBe(
        'telescope=lofar,energy>140;telescope=ska'
      );
      // A broken text leaves the builder as it was.
      model.search.setFilterText('telescope=lofar,');
      expect(model.search.filterError).toMatch(/condition 2/);
      expect(model.search.draft.filterRows).toHaveLength(2);
    });
  });

  describe('details', () => {
    const did = 'lofar:L2023_712342_HBA';

    it('loads metadata, rules and the first page of files, then more files', async () => {
      await ready();
      lake.rules.set(did, [
        rule({
          did,
          account: 'root',
          rse_expression: 'ESCAPE-SAFE',
          state: 'OK'
        })
      ]);
      lake.files.set(
        did,
        Array.from({ length: 60 }, (_, i) => ({
          did: `lofar:file_${i}`,
          bytes: 100,
          state: 'ELSEWHERE',
          reason: null,
          replicas: [
            { rse: 'ESCAPE-SAFE', state: 'AVAILABLE', qos_class: 'SAFE' }
          ],
          local_path: null
        }))
      );
      await model.openDetails(did);
      expect(model.detailsOpen).toBe(true);
      expect(model.details.details?.metadata).toMatchObject({
        doi: '10.5072/escape.lofar.712342'
      });
      expect(model.details.details?.rules).toHaveLength(1);
      expect(model.details.files).toHaveLength(50);
      expect(model.details.hasMoreFiles).toBe(true);

      await model.details.loadMoreFiles();
      expect(model.details.files).toHaveLength(60);
      expect(model.details.hasMoreFiles).toBe(false);

      model.closeDetails();
      expect(model.detailsOpen).toBe(false);
    });

    it('shows why a DID cannot be read', async () => {
      await ready();
      await model.openDetails('lofar:nope');
      expect(model.details.state).toBe('error');
      expect(model.details.error?.message).toBe(
        'Cannot read lofar:nope: Rucio does not know it.'
      );
    });

    it('is fetched again when the watched availability of its DID changes, not polled', async () => {
      await ready();
      lake.states.set(did, availability(did, 'REPLICATING'));
      model.watch.watch(INSTANCE, did);
      await model.watch.refresh();
      await model.openDetails(did);
      const before = lake.count('GET did');

      await model.watch.refresh(); // no change: no details request
      await flush(10);
      expect(lake.count('GET did')).toBe(before);

      lake.states.set(did, availability(did, 'AVAILABLE'));
      await model.watch.refresh();
      await until(
        () => lake.count('GET did') === before + 1,
        'the details refresh'
      );
    });

    it('extends and cancels the rules of the user, then shows them again', async () => {
      await ready();
      await model.openDetails(did);
      await model.extendRule('a'.repeat(32), 14);
      expect(await lake.bodies('PUT rules/{id}')).toEqual([
        { lifetime_days: 14 }
      ]);
      await model.cancelRule('a'.repeat(32));
      expect(lake.count('DELETE rules/{id}')).toBe(1);
      expect(lake.count('GET did')).toBe(3);

      lake.overrides.set('DELETE rules/{id}', () =>
        errorResponse(
          403,
          'rule x belongs to account root, not to you (alice)',
          'not_your_rule'
        )
      );
      await expect(model.cancelRule('b'.repeat(32))).rejects.toThrow(
        'rule x belongs to account root, not to you (alice)'
      );
    });
  });

  describe('make available', () => {
    const did = 'ska:AA05_quicklook_0001';
    const notebook = TARGETS[0];

    function states(transfer: ITransfer[]): string[] {
      return transfer.map(one => one.state);
    }

    it('creates the rule, follows it through the bulk poll, and ends with the local paths', async () => {
      await ready();
      const seen: ITransfer[] = [];
      model.transfers.transferChanged.connect((_, transfer) =>
        seen.push({ ...transfer })
      );
      lake.states.set(
        did,
        availability(did, 'REPLICATING', { total: 1 }, 4096)
      );
      lake.paths.set(did, {
        'ska:AA05_quicklook_0001.fits':
          '/lake/rses/notebook-local/ska/64/25/AA05_quicklook_0001.fits'
      });

      const transfer = await model.makeAvailable({
        did,
        target: notebook,
        lifetimeDays: 3
      });
      expect(await lake.bodies('POST rules')).toEqual([
        { did, target: 'notebook', lifetime_days: 3 }
      ]);
      expect(transfer.state).toBe('in-progress');
      expect(transfer.availability?.state).toBe('REPLICATING');
      expect(model.watch.has(INSTANCE, did)).toBe(true);

      lake.states.set(did, availability(did, 'AVAILABLE', { total: 1 }, 4096));
      await model.watch.refresh();
      await until(() => transfer.paths !== null, 'the paths');

      expect(transfer.state).toBe('done');
      expect(transfer.paths?.directory).toBe(
        '/lake/rses/notebook-local/ska/64/25'
      );
      expect(states(seen)).toEqual([
        'requesting',
        'in-progress',
        'in-progress',
        'done'
      ]);
      // One bulk request per check, never per DID; paths read once.
      expect(lake.count('GET did/paths')).toBe(1);
      expect(model.watch.isActive).toBe(false);
    });

    it.each([
      [
        403,
        'cta:LST1_run7801_DL3: Permission denied to make cta:LST1_run7801_DL3 available: Account alice can not add replication rule. embargoed until 2027-11-23',
        'permission_denied'
      ],
      [
        422,
        "Cannot make lofar:L2023_712399_HBA_raw available: your storage quota is exceeded. Rucio says: There is insufficient quota on any of the target RSE's to fulfill the operation.",
        'quota_exceeded'
      ]
    ])(
      'fails with the server message on HTTP %p',
      async (status, message, reason) => {
        await ready();
        lake.overrides.set('POST rules', () =>
          errorResponse(status, message, reason)
        );
        const transfer = await model.makeAvailable({
          did: 'cta:x',
          target: TARGETS[1],
          lifetimeDays: 1
        });
        expect(transfer.state).toBe('failed');
        expect(transfer.error?.message).toBe(message);
        expect(transfer.error?.status).toBe(status);
        expect(model.watch.has(INSTANCE, 'cta:x')).toBe(false);
      }
    );

    it("fails with Rucio's reason when the transfer gets stuck", async () => {
      await ready();
      const transfer = await model.makeAvailable({
        did,
        target: notebook,
        lifetimeDays: 1
      });
      lake.states.set(
        did,
        availability(did, 'STUCK', { total: 1 }, 4096, 'No source replica')
      );
      await model.watch.refresh();
      expect(transfer.state).toBe('failed');
      expect(transfer.stuckReason).toBe('No source replica');
    });

    it('follows a rule to a QoS class until Rucio says OK', async () => {
      await ready();
      const transfer = await model.makeAvailable({
        did,
        target: TARGETS[2],
        lifetimeDays: 1
      });
      expect(transfer.towardsNotebook).toBe(false);
      expect(transfer.state).toBe('in-progress');
      expect(lake.count('GET rules')).toBe(1);

      const created = lake.rules.get(did)![0];
      lake.rules.set(did, [
        { ...created, state: 'OK', locks: { ok: 1, replicating: 0, stuck: 0 } }
      ]);
      await model.watch.refresh();
      expect(transfer.state).toBe('done');
      expect(transfer.rule?.state).toBe('OK');
    });

    it('ignores what the watch knew before the rule existed', async () => {
      await ready();
      lake.states.set(
        did,
        availability(did, 'STUCK', { total: 1 }, 4096, 'old failure')
      );
      model.watch.watch(INSTANCE, did);
      await model.watch.refresh();
      lake.states.set(
        did,
        availability(did, 'REPLICATING', { total: 1 }, 4096)
      );
      const transfer = await model.makeAvailable({
        did,
        target: notebook,
        lifetimeDays: 1
      });
      expect(transfer.state).toBe('in-progress');
      expect(transfer.stuckReason).toBeNull();
    });
  });

  describe('persistence', () => {
    it('gives back the watched DIDs, instance, tab, search form and open details', async () => {
      await ready();
      model.watch.watch(INSTANCE, 'lofar:a');
      model.tab = 'watched';
      model.search.setDraft({
        pattern: 'L2023*',
        type: 'dataset',
        filterText: 'energy>140'
      });
      await model.openDetails('lofar:L2023_712342_HBA');
      const saved = JSON.parse(JSON.stringify(model.persistentState));
      model.dispose();

      lake = new FakeLake();
      await ready();
      model.restoreState(saved);
      expect(model.watch.has(INSTANCE, 'lofar:a')).toBe(true);
      expect(model.tab).toBe('watched');
      expect(model.search.draft).toMatchObject({
        pattern: 'L2023*',
        type: 'dataset',
        filterText: 'energy>140'
      });
      expect(model.search.draft.filterRows[0][0]).toMatchObject({
        key: 'energy',
        op: '>'
      });
      expect(model.details.did).toBe('lofar:L2023_712342_HBA');

      // Nonsense is ignored, not fatal.
      model.restoreState({
        tab: 'nope',
        search: { type: 'bad', pattern: 3 }
      } as never);
      expect(model.tab).toBe('watched');
      expect(model.search.draft.type).toBe('dataset');
    });
  });

  it('refreshAll checks status, identity, watched data and open details at once', async () => {
    await ready();
    lake.whoami = whoami(120);
    model.watch.watch(INSTANCE, 'lofar:L2023_712342_HBA');
    await model.openDetails('lofar:L2023_712342_HBA');
    const before = lake.calls.length;
    await model.refreshAll();
    const calls = lake.calls.slice(before);
    expect(calls).toEqual(
      expect.arrayContaining([
        'GET status',
        'GET whoami',
        'POST availability',
        'GET did',
        'GET did/files'
      ])
    );
    expect(model.identity.whoami?.token.expires_in).toBe(120);
  });
});
