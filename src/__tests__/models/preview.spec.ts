import { DataLakeAPI } from '../../api/client';
import { DataLakeRequestError } from '../../api/request';
import { IRulePreview } from '../../api/types';
import { DataLakeModel } from '../../models/datalake';
import { RulePreviewModel } from '../../models/preview';
import { flush, until } from '../async';
import { errorResponse, FakeLake, INSTANCE, rule } from '../fakeLake';
import { jsonResponse } from '../fakeServer';

describe('RulePreviewModel', () => {
  const did = 'lofar:L2023_712399_HBA_raw';
  let lake: FakeLake;
  let preview: RulePreviewModel;
  let errors: DataLakeRequestError[];
  let successes: string[];

  function create(instance: string | null = INSTANCE): RulePreviewModel {
    return new RulePreviewModel({
      api: new DataLakeAPI(lake.settings),
      instance,
      did,
      onError: (_, error) => errors.push(error),
      onSuccess: name => successes.push(name),
      lifetimeDelay: 30
    });
  }

  /** Answer previews only when the test says so, in any order. */
  function holdAnswers(): Map<string, (answer: Response) => void> {
    const held = new Map<string, (answer: Response) => void>();
    lake.overrides.set(
      'GET rules/preview',
      (_, url) =>
        new Promise<Response>(resolve =>
          held.set(
            `${url.searchParams.get('target')}/${url.searchParams.get('lifetime_days')}`,
            resolve
          )
        )
    );
    return held;
  }

  beforeEach(() => {
    lake = new FakeLake();
    errors = [];
    successes = [];
    preview = create();
  });

  afterEach(() => {
    preview.dispose();
  });

  it('asks the server what the request would do, and keeps its answer', async () => {
    const states: string[] = [];
    preview.changed.connect(() => states.push(preview.state));
    expect(preview.state).toBe('idle');

    preview.ask({ target: 'CHEAP', lifetimeDays: 14 });
    expect(preview.state).toBe('loading');
    await until(() => preview.state === 'ready', 'the preview');

    expect(lake.calls).toEqual(['GET rules/preview']);
    const [query] = lake.queries('GET rules/preview');
    expect(
      ['did', 'target', 'lifetime_days'].map(key => query.get(key))
    ).toEqual([did, 'CHEAP', '14']);
    expect(preview.preview).toMatchObject({
      did,
      target: { id: 'CHEAP' },
      size: { bytes: 198144, files: 3 },
      outcome: 'create'
    });
    expect(preview.request).toEqual({ target: 'CHEAP', lifetimeDays: 14 });
    expect(preview.refused).toBe(false);
    expect(states).toEqual(['loading', 'ready']);
    expect(successes).toEqual([INSTANCE]);
  });

  it('says Rucio would surely refuse only when the answer says so', async () => {
    lake.previews.set(did, {
      outcome: 'refused',
      refusals: [{ reason: 'quota_exceeded', message: 'Quota exceeded' }]
    });
    preview.ask({ target: 'CHEAP', lifetimeDays: 7 });
    expect(preview.refused).toBe(false); // not known yet
    await until(() => preview.state === 'ready', 'the preview');
    expect(preview.refused).toBe(true);
  });

  it('asks at once about a new target, and forgets what was found for the old one', async () => {
    const held = holdAnswers();
    preview.ask({ target: 'notebook', lifetimeDays: 7 });
    preview.ask({ target: 'SAFE', lifetimeDays: 7 });
    await until(() => held.size === 2, 'both questions');
    expect(lake.count('GET rules/preview')).toBe(2);

    // The answer about SAFE comes first, then the late one about the notebook.
    held.get('SAFE/7')!(jsonResponse(lake.preview(did, 'SAFE', 7)));
    await until(() => preview.state === 'ready', 'the SAFE answer');
    held.get('notebook/7')!(jsonResponse(lake.preview(did, 'notebook', 7)));
    await flush(20);
    expect(preview.preview?.target.id).toBe('SAFE');

    // A new target: nothing is known of it until its answer comes.
    preview.ask({ target: 'CHEAP', lifetimeDays: 7 });
    expect(preview.preview).toBeNull();
    expect(preview.state).toBe('loading');
  });

  it('waits for a pause in typing before asking about a new lifetime, keeping the answer meanwhile', async () => {
    preview.ask({ target: 'notebook', lifetimeDays: 7 });
    await until(() => preview.state === 'ready', 'the first answer');
    const first = preview.preview;

    preview.ask({ target: 'notebook', lifetimeDays: 1 });
    preview.ask({ target: 'notebook', lifetimeDays: 14 });
    expect(preview.state).toBe('loading');
    // What is refused does not depend on the lifetime: the answer stays meanwhile.
    expect(preview.preview).toBe(first);
    await until(() => preview.state === 'ready', 'the second answer');

    expect(
      lake.queries('GET rules/preview').map(q => q.get('lifetime_days'))
    ).toEqual(['7', '14']);
    expect(preview.preview?.lifetime_days).toBe(14);
  });

  it('asks nothing for a lifetime that is not a number above 0, nor twice the same', async () => {
    preview.ask({ target: 'notebook', lifetimeDays: NaN });
    preview.ask({ target: 'notebook', lifetimeDays: 0 });
    expect(preview.state).toBe('idle');
    preview.ask({ target: 'notebook', lifetimeDays: 7 });
    await until(() => preview.state === 'ready', 'the answer');
    preview.ask({ target: 'notebook', lifetimeDays: 7 });
    await flush(50);
    expect(lake.count('GET rules/preview')).toBe(1);
    expect(preview.state).toBe('ready');
  });

  it('keeps the error of the preview itself, and asks again when told', async () => {
    const message =
      'Rucio at http://127.0.0.1:18080 answers, but cannot reach its database, so it can neither find nor change data right now.';
    lake.overrides.set('GET rules/preview', () =>
      jsonResponse(
        {
          message,
          reason: 'rucio_database_unavailable',
          service: 'Rucio'
        },
        503
      )
    );
    preview.ask({ target: 'notebook', lifetimeDays: 7 });
    await until(() => preview.state === 'error', 'the error');
    expect(preview.error?.message).toBe(message);
    expect(preview.error?.status).toBe(503);
    expect(preview.error?.service).toBe('Rucio');
    expect(preview.preview).toBeNull();
    expect(preview.refused).toBe(false);
    expect(errors).toEqual([preview.error]);

    // The same question after an error is asked again.
    lake.overrides.clear();
    preview.ask({ target: 'notebook', lifetimeDays: 7 });
    await until(() => preview.state === 'ready', 'the answer');
    expect(lake.count('GET rules/preview')).toBe(2);
  });

  it('fails without asking while no instance is known', async () => {
    preview.dispose();
    preview = create(null);
    preview.ask({ target: 'notebook', lifetimeDays: 7 });
    await until(() => preview.state === 'error', 'the error');
    expect(preview.error?.reason).toBe('no_instance');
    expect(lake.calls).toEqual([]);
  });

  it('aborts the question under way when disposed, and says nothing after', async () => {
    const held = holdAnswers();
    let changes = 0;
    preview.changed.connect(() => changes++);
    preview.ask({ target: 'notebook', lifetimeDays: 7 });
    await until(() => held.size === 1, 'the question');
    const request = lake.server.requests[0];
    preview.dispose();
    expect(request.signal.aborted).toBe(true);
    held.get('notebook/7')!(jsonResponse(lake.preview(did, 'notebook', 7)));
    await flush(20);
    expect(changes).toBe(1); // the 'loading' only
    expect(preview.preview).toBeNull();
    preview.ask({ target: 'SAFE', lifetimeDays: 7 });
    expect(lake.count('GET rules/preview')).toBe(1);
  });

  describe('from the Data Lake model', () => {
    let model: DataLakeModel;

    beforeEach(async () => {
      model = new DataLakeModel({
        frontendVersion: '0.1.0',
        serverSettings: lake.settings
      });
      model.panelVisible = true;
      await model.refresh();
      await until(() => model.identity.state === 'signed-in', 'signed in');
    });

    afterEach(() => model.dispose());

    it('asks the selected instance, and a 401 signs the user out', async () => {
      const existing = rule({ did, rse_expression: 'QOS=SAFE' });
      lake.rules.set(did, [existing]);
      const fromModel = model.previewMakeAvailable(did);
      expect(fromModel.instance).toBe(INSTANCE);
      fromModel.ask({ target: 'SAFE', lifetimeDays: 7 });
      await until(() => fromModel.state === 'ready', 'the answer');
      expect((fromModel.preview as IRulePreview).rule?.id).toBe(existing.id);
      expect(fromModel.preview?.outcome).toBe('exists');

      const expired =
        'The token from file:/x expired 3 min ago. Sign in again.';
      lake.overrides.set('GET rules/preview', () =>
        errorResponse(401, expired, 'credentials_expired')
      );
      fromModel.ask({ target: 'notebook', lifetimeDays: 7 });
      await until(() => fromModel.state === 'error', 'the error');
      expect(model.identity.state).toBe('signed-out');
      expect(model.identity.error?.message).toBe(expired);
      fromModel.dispose();
    });
  });
});
