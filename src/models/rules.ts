import { DataLakeAPI } from '../api/client';
import { DataLakeRequestError, toRequestError } from '../api/request';
import { IDidPathsResponse, IRule } from '../api/types';

/** The error of a call made before any instance is known. */
export function noInstanceError(): DataLakeRequestError {
  return new DataLakeRequestError(
    'No Rucio instance is available yet.',
    0,
    'no_instance'
  );
}

/**
 * The user's rules once they exist, and what they bring to the notebook:
 * extend or cancel a rule, read the local paths of a DID's files. Called on
 * demand, never polled; the owner fetches again what a change affects.
 * (Rules are created by TransfersModel and followed by WatchModel.)
 */
export class RulesModel {
  constructor(options: RulesModel.IOptions) {
    this._api = options.api;
    this._onError = options.onError;
    this._onSuccess = options.onSuccess;
  }

  /** Give a rule a new lifetime, counted from now. */
  extend(
    instance: string | null,
    ruleId: string,
    lifetimeDays: number
  ): Promise<IRule> {
    return this._call(instance, name =>
      this._api.extendRule(name, ruleId, lifetimeDays)
    );
  }

  /** Cancel one of the user's rules. */
  cancel(instance: string | null, ruleId: string): Promise<void> {
    return this._call(instance, name => this._api.cancelRule(name, ruleId));
  }

  /** Local paths of a DID's files at the notebook. */
  paths(instance: string | null, did: string): Promise<IDidPathsResponse> {
    return this._call(instance, name => this._api.didPaths(name, did));
  }

  /** Call an instance (refused while none is known); tell the owner how it went. */
  private async _call<T>(
    instance: string | null,
    call: (instance: string) => Promise<T>
  ): Promise<T> {
    if (instance === null) {
      throw noInstanceError();
    }
    try {
      const result = await call(instance);
      this._onSuccess?.(instance);
      return result;
    } catch (reason) {
      const error = toRequestError(reason);
      this._onError?.(instance, error);
      throw error;
    }
  }

  private _api: DataLakeAPI;
  private _onError?: (instance: string, error: DataLakeRequestError) => void;
  private _onSuccess?: (instance: string) => void;
}

export namespace RulesModel {
  export interface IOptions {
    api: DataLakeAPI;
    /** Told about each failed call (e.g. to notice expired credentials). */
    onError?: (instance: string, error: DataLakeRequestError) => void;
    onSuccess?: (instance: string) => void;
  }
}
