/**
 * The rules the watch follows that bring no data to the notebook (towards a
 * QoS class): their last known state until they settle.
 */
import { IRule } from '../api/types';

/** Rule states after which a rule no longer changes by itself. */
const SETTLED_RULE_STATES = new Set(['OK', 'STUCK', 'SUSPENDED']);

/** Whether a rule has settled (OK, STUCK or SUSPENDED): it no longer changes by itself. */
export function isSettledRule(rule: IRule): boolean {
  return SETTLED_RULE_STATES.has(rule.state);
}

/** A followed rule and the instance it is at. */
export interface IFollowedRule {
  instance: string;
  rule: IRule;
}

/**
 * The followed rules by id, and the instances whose rules a check must ask
 * for: those with a rule not settled yet, and those an event named.
 */
export class FollowedRules {
  get size(): number {
    return this._rules.size;
  }

  /** Whether a followed rule has not settled yet. */
  get hasUnsettled(): boolean {
    for (const { rule } of this._rules.values()) {
      if (!isSettledRule(rule)) {
        return true;
      }
    }
    return false;
  }

  /** The instances of the followed rules. */
  get instances(): Set<string> {
    return new Set([...this._rules.values()].map(({ instance }) => instance));
  }

  has(ruleId: string): boolean {
    return this._rules.has(ruleId);
  }

  get(ruleId: string): IRule | undefined {
    return this._rules.get(ruleId)?.rule;
  }

  set(instance: string, rule: IRule): void {
    this._rules.set(rule.id, { instance, rule });
  }

  /** False when the rule was not followed. */
  delete(ruleId: string): boolean {
    return this._rules.delete(ruleId);
  }

  /** An event named a followed rule of this instance: ask at the next check. */
  markDirty(instance: string): void {
    this._dirty.add(instance);
  }

  /** The instances to ask about at this check (the events' marks are used up). */
  takeDue(): Set<string> {
    const due = new Set(this._dirty);
    this._dirty.clear();
    for (const { instance, rule } of this._rules.values()) {
      if (!isSettledRule(rule)) {
        due.add(instance);
      }
    }
    return due;
  }

  /**
   * Take the account's rules at an instance as now known (all of them, or
   * those changed since the last check: a followed rule not among them is
   * as it was); the followed rules that changed.
   */
  update(instance: string, rules: IRule[]): IFollowedRule[] {
    const byId = new Map(rules.map(rule => [rule.id, rule]));
    const changed: IFollowedRule[] = [];
    for (const [id, followed] of this._rules) {
      if (followed.instance !== instance) {
        continue;
      }
      const rule = byId.get(id);
      if (rule && JSON.stringify(rule) !== JSON.stringify(followed.rule)) {
        followed.rule = rule;
        changed.push({ instance, rule });
      }
    }
    return changed;
  }

  private _dirty = new Set<string>();
  private _rules = new Map<string, IFollowedRule>();
}
