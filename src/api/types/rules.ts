/**
 * Replication rules: making data available and its preview, targets and storage, the account's changed rules and live events (`rules`, `rules/preview`, `rses`, `changes`, `events`).
 *
 * Shapes of the REST API, mirroring escape_dlaas/web/openapi.yaml (field
 * names exactly as the server sends them). Types only, no code.
 */

/** A Rucio replication rule as the server summarises it. */
export interface IRule {
  id: string;
  did: string;
  account: string;
  rse_expression: string;
  /** Rucio's rule state: OK, REPLICATING, STUCK, SUSPENDED, WAITING_APPROVAL, INJECT. */
  state: string;
  locks: { ok: number; replicating: number; stuck: number };
  /** ISO date-time in UTC (Rucio sends no zone), or null for no expiry. */
  expires_at: string | null;
  created_at?: string | null;
  /** Rucio's explanation, for stuck rules. */
  error: string | null;
  /** Whether the rule brings data to the notebook-local storage. */
  towards_notebook: boolean;
  copies?: number;
  comment?: string | null;
  /** Rucio keeps a locked rule from being deleted. */
  locked?: boolean;
  /**
   * Whether "Extend" can work: the user's unlocked rule, on a data lake that
   * has not refused to let users extend rules.
   */
  can_extend?: boolean;
  /** As `can_extend`, for cancelling. */
  can_cancel?: boolean;
}

/** Body of `POST instances/{i}/rules` (201 created, 200 existing). */
export interface IRuleCreated {
  rule: IRule;
  created: boolean;
  /** The existing rule was given the longer lifetime asked for. */
  extended?: boolean;
  /** Why the existing rule was kept as it is (the lake does not let users extend rules). */
  note?: string | null;
}

/** A size and a number of files. */
export interface IVolume {
  bytes: number;
  files: number;
}

/** The account's quota at one storage element, against what a rule needs. */
export interface IQuota {
  rse: string;
  used_bytes: number;
  /** null when unlimited; 0 when the account has no quota there. */
  limit_bytes: number | null;
  unlimited: boolean;
  needed_bytes: number;
  fits: boolean;
}

/** Why a make-available request would be refused. */
export interface IPreviewRefusal {
  reason: 'no_matching_rse' | 'embargoed' | 'quota_exceeded';
  /** In plain words, for the scientist. */
  message: string;
}

/**
 * What asking would do: create a rule, be refused, find the rule (long
 * enough already), extend it, or keep it as it is (the lake does not let
 * users extend rules).
 */
export type PreviewOutcome =
  'create' | 'refused' | 'exists' | 'extend' | 'keep';

/**
 * Body of `GET instances/{i}/rules/preview`: what making a DID available at
 * a target would do, known before the click. Changes nothing.
 */
export interface IRulePreview {
  did: string;
  type: string | null;
  target: ITarget;
  lifetime_days: number;
  /** Storage offering the target; empty: none. */
  rses: string[];
  size: IVolume;
  /** What is not at the target yet. */
  to_move: IVolume;
  quota: {
    /** Rucio charges the whole size, files already there included. */
    needed_bytes: number;
    fits: boolean;
    rses: IQuota[];
    message: string | null;
  };
  /** An embargo on the DID or a collection around it, in force for this account. */
  embargo: {
    /** ISO date; null when the value cannot be read. */
    until: string | null;
    /** The DID carrying the embargo (this one or a collection around it). */
    did: string;
    message: string;
  } | null;
  /** The account's rule for this DID and target, if any. */
  rule: IRule | null;
  outcome: PreviewOutcome;
  /** Why an existing rule would be kept as it is (outcome `keep`). */
  note: string | null;
  /** Why Rucio would refuse a new rule; empty with an existing rule. */
  refusals: IPreviewRefusal[];
}

/** A storage element with its QoS class. */
export interface IRse {
  name: string;
  qos_class: string | null;
  notebook_local: boolean;
}

/** A make-available target: `notebook` or a QoS class. */
export interface ITarget {
  id: string;
  label: string;
  rse_expression: string;
}

/** Body of `GET instances/{i}/rses`. */
export interface IRsesResponse {
  rses: IRse[];
  targets: ITarget[];
}

/** `GET instances/{i}/changes`: the account's rules Rucio updated since `since`. */
export interface IRuleChanges {
  /** Pass it back as `since` next time; null while the account has no rules. */
  since: string | null;
  rules: IRule[];
  /** The DIDs of those rules. */
  dids: string[];
}

/** One message of `GET instances/{i}/events` (server-sent events). */
export type IDataLakeEvent =
  | {
      /** Whether the server is connected to the instance's message broker. */
      type: 'stream';
      live: boolean;
    }
  | {
      /** Something happened to one of the user's own rules. */
      type: 'rule';
      /** Rucio's event: rule_ok, datasetlock_ok, transfer-done, ... */
      event: string;
      rule_id: string;
      /** The rule's DID. */
      did: string;
    };
