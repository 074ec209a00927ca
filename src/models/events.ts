import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { DataLakeAPI } from '../api/client';
import { toRequestError } from '../api/request';
import { IDataLakeEvent } from '../api/types';

/** `reason` of the server's 404 for an instance without a message broker. */
export const EVENTS_NOT_CONFIGURED = 'events_not_configured';

/** Longest pause between two attempts to open an instance's stream. */
export const MAX_RECONNECT_MS = 30 * 1000;

/** Something happened to one of the user's rules, as Rucio announced it. */
export interface IRuleEvent {
  instance: string;
  /** Rucio's event: rule_ok, datasetlock_ok, transfer-done, ... */
  event: string;
  ruleId: string;
  did: string;
}

/**
 * Rucio's live events for the instances the panel follows.
 *
 * One server-sent-events stream per instance (`GET instances/{i}/events`),
 * opened while the instance is followed, reopened with a growing pause when
 * it drops. An instance is *live* while its stream is open and the server is
 * connected to the broker: the poll of the other models then slows down, and
 * speeds up again as soon as it is not. Instances without a broker (404
 * `events_not_configured`) are left alone: they are polled as before.
 */
export class EventsModel implements IDisposable {
  constructor(options: EventsModel.IOptions) {
    this._api = options.api;
    this._sleep = options.sleep ?? Private.sleep;
  }

  /** Emitted for each event of the user's rules. */
  get ruleEvent(): ISignal<this, IRuleEvent> {
    return this._ruleEvent;
  }

  /** Emitted when an instance becomes live or stops being live. */
  get liveChanged(): ISignal<this, string> {
    return this._liveChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Whether events of `instance` arrive now. */
  isLive(instance: string): boolean {
    return this._streams.get(instance)?.live ?? false;
  }

  /** Follow exactly these instances: open the missing streams, close the others. */
  follow(instances: Iterable<string>): void {
    if (this._isDisposed) {
      return;
    }
    const wanted = new Set(instances);
    for (const [instance, stream] of this._streams) {
      if (!wanted.has(instance)) {
        this._close(instance, stream);
      }
    }
    for (const instance of wanted) {
      if (!this._streams.has(instance) && !this._unavailable.has(instance)) {
        const stream: Private.IStream = {
          abort: new AbortController(),
          live: false
        };
        this._streams.set(instance, stream);
        void this._run(instance, stream);
      }
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    for (const [instance, stream] of this._streams) {
      this._close(instance, stream);
    }
    Signal.clearData(this);
  }

  private _close(instance: string, stream: Private.IStream): void {
    stream.abort.abort();
    this._streams.delete(instance);
    this._setLive(instance, stream, false);
  }

  /** Keep the stream of `instance` open until it is closed. */
  private async _run(instance: string, stream: Private.IStream): Promise<void> {
    let attempt = 0;
    while (!stream.abort.signal.aborted) {
      try {
        const response = await this._api.events(instance, stream.abort.signal);
        attempt = 0;
        await this._read(instance, stream, response);
      } catch (reason) {
        if (stream.abort.signal.aborted) {
          return;
        }
        const error = toRequestError(reason);
        if (error.status === 404 && error.reason === EVENTS_NOT_CONFIGURED) {
          this._unavailable.add(instance);
          this._streams.delete(instance);
          return;
        }
      }
      // Dropped: the other models poll at their normal pace meanwhile.
      this._setLive(instance, stream, false);
      await this._sleep(Private.reconnectDelay(attempt++), stream.abort.signal);
    }
  }

  private async _read(
    instance: string,
    stream: Private.IStream,
    response: Response
  ): Promise<void> {
    const reader = response.body?.getReader();
    if (!reader) {
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return;
      }
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        for (const line of block.split('\n')) {
          if (line.startsWith('data: ')) {
            this._handle(instance, stream, line.slice(6));
          }
        }
        end = buffer.indexOf('\n\n');
      }
    }
  }

  private _handle(
    instance: string,
    stream: Private.IStream,
    data: string
  ): void {
    let message: IDataLakeEvent;
    try {
      message = JSON.parse(data);
    } catch {
      return; // not ours to understand; the poll catches up anyway
    }
    if (message.type === 'stream') {
      this._setLive(instance, stream, message.live === true);
    } else if (message.type === 'rule' && !this._isDisposed) {
      this._ruleEvent.emit({
        instance,
        event: message.event,
        ruleId: message.rule_id,
        did: message.did
      });
    }
  }

  private _setLive(
    instance: string,
    stream: Private.IStream,
    live: boolean
  ): void {
    if (stream.live !== live) {
      stream.live = live;
      if (!this._isDisposed) {
        this._liveChanged.emit(instance);
      }
    }
  }

  private _api: DataLakeAPI;
  private _isDisposed = false;
  private _liveChanged = new Signal<this, string>(this);
  private _ruleEvent = new Signal<this, IRuleEvent>(this);
  private _sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private _streams = new Map<string, Private.IStream>();
  private _unavailable = new Set<string>();
}

export namespace EventsModel {
  export interface IOptions {
    api: DataLakeAPI;
    /** Waits between reconnections (tests pass their own clock). */
    sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  }
}

namespace Private {
  export interface IStream {
    abort: AbortController;
    live: boolean;
  }

  /** Doubling from 1 s up to MAX_RECONNECT_MS, with jitter: tabs do not all come back at once. */
  export function reconnectDelay(attempt: number): number {
    const base = Math.min(MAX_RECONNECT_MS, 1000 * 2 ** Math.min(attempt, 10));
    return base * (0.5 + Math.random() / 2);
  }

  export function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(resolve, ms);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
