import { FollowedRules, isSettledRule } from '../../models/followedRules';
import { rule } from '../fakeLake';

describe('FollowedRules', () => {
  const qos = rule({ id: 'r1', state: 'REPLICATING', towards_notebook: false });

  it('asks about an instance while a rule there is not settled, and once after an event', () => {
    const rules = new FollowedRules();
    rules.set('ska', qos);
    rules.set('lofar', rule({ id: 'r2', state: 'OK' }));

    expect(rules.hasUnsettled).toBe(true);
    expect(rules.instances).toEqual(new Set(['ska', 'lofar']));
    expect(rules.takeDue()).toEqual(new Set(['ska']));

    rules.markDirty('lofar');
    expect(rules.takeDue()).toEqual(new Set(['ska', 'lofar']));
    // The event's mark is used up.
    expect(rules.takeDue()).toEqual(new Set(['ska']));
  });

  it('takes the rules as now known: only the followed ones of that instance that changed', () => {
    const rules = new FollowedRules();
    rules.set('ska', qos);
    const settled = { ...qos, state: 'OK' };

    expect(rules.update('lofar', [settled])).toEqual([]);
    expect(rules.update('ska', [qos, rule({ id: 'other' })])).toEqual([]);
    expect(rules.update('ska', [settled])).toEqual([
      { instance: 'ska', rule: settled }
    ]);
    expect(rules.get('r1')).toEqual(settled);
    expect(rules.hasUnsettled).toBe(false);
    expect(rules.takeDue()).toEqual(new Set());

    expect(rules.delete('r1')).toBe(true);
    expect(rules.delete('r1')).toBe(false);
    expect(rules.size).toBe(0);
  });

  it('calls OK, STUCK and SUSPENDED settled', () => {
    expect(
      ['OK', 'STUCK', 'SUSPENDED', 'REPLICATING', 'WAITING_APPROVAL'].map(
        state => isSettledRule(rule({ state }))
      )
    ).toEqual([true, true, true, false, false]);
  });
});
