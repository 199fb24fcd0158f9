// Envoy's watchdog, for the one thing that can stop the local host's thread: a call into a plugin
// that does not return (docs/envoy-host.md §17). Envoy's guard dog checks every watched thread
// and counts a thread that has not come back to its event loop for longer than miss_timeout
// (200 ms) in watchdog_miss and longer than megamiss_timeout (1 s) in watchdog_mega_miss, once
// per stall (source/server/guarddog_impl.cc, GuardDogImpl::step). Here the checks read the call
// marker (call-marker.ts) from the command line's main thread, which stays free.

import type { CallReader, CallUnderWay } from "./call-marker.ts";

/** Envoy's defaults (data-plane-api bootstrap.proto, message Watchdog); kill_timeout is 0: never. */
export const MISS_TIMEOUT_MS = 200;
export const MEGAMISS_TIMEOUT_MS = 1000;
/** How often the calls are looked at: half the shortest timeout, as Envoy's watchdogs are touched. */
export const CHECK_INTERVAL_MS = MISS_TIMEOUT_MS / 2;

/** What the watchdog reports of a call that runs long. */
export interface StallReport {
  /** the call has run longer than MISS_TIMEOUT_MS: Envoy counts watchdog_miss */
  miss(call: CallUnderWay): void;
  /** longer than MEGAMISS_TIMEOUT_MS: Envoy counts watchdog_mega_miss; the local host says which call */
  megamiss(call: CallUnderWay, runningMs: number): void;
  /** a call reported as a megamiss has returned after all */
  returned(call: CallUnderWay, runningMs: number): void;
}

/** A call as the checks followed it. */
interface Watched {
  call: CallUnderWay;
  /** when a check first saw it: it has run at least since then */
  seenMs: number;
  missed: boolean;
  megamissed: boolean;
}

export class Watchdog {
  private watched: Watched | null = null;

  constructor(
    private readonly reader: CallReader,
    private readonly report: StallReport,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Look at the call under way; run every CHECK_INTERVAL_MS. */
  check(): void {
    const call = this.reader.current();
    const now = this.now();
    const watched = this.watched;
    if (watched === null || call === null || call.number !== watched.call.number) {
      if (watched?.megamissed) this.report.returned(watched.call, now - watched.seenMs);
      this.watched = call === null ? null : { call, seenMs: now, missed: false, megamissed: false };
      return;
    }
    const runningMs = now - watched.seenMs;
    if (!watched.missed && runningMs > MISS_TIMEOUT_MS) {
      watched.missed = true;
      this.report.miss(watched.call);
    }
    if (!watched.megamissed && runningMs > MEGAMISS_TIMEOUT_MS) {
      watched.megamissed = true;
      this.report.megamiss(watched.call, runningMs);
    }
  }

  /** The call under way now and how long the checks have seen it run; null when there is none. */
  underWay(): { call: CallUnderWay; runningMs: number } | null {
    const call = this.reader.current();
    if (call === null) return null;
    const watched = this.watched;
    const runningMs = watched !== null && watched.call.number === call.number ? this.now() - watched.seenMs : 0;
    return { call, runningMs };
  }
}

/** `proxy_on_new_connection (context 2) of wasm plugin 'logger' on the VM of worker 0`, for the lines that name a call. */
export function describeCall(call: CallUnderWay): string {
  const context = call.context === 0 ? "" : ` (context ${call.context})`;
  const where = call.vm === undefined ? "" : ` of wasm plugin '${call.vm.plugin}' on the ${call.vm.role} VM`;
  return `${call.call}${context}${where}`;
}

/** Milliseconds as seconds with one decimal: `1.2 s`. */
export function seconds(milliseconds: number): string {
  return `${(milliseconds / 1000).toFixed(1)} s`;
}
