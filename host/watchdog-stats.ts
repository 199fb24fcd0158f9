// Envoy's watchdog stats, counted for the VM whose call ran long (docs/envoy-host.md §17). Envoy
// has two guard dogs, `main_thread` and `workers`, each counting `<name>.watchdog_miss` and
// `<name>.watchdog_mega_miss`, and per watched thread `server.<thread>.watchdog_miss` and
// `server.<thread>.watchdog_mega_miss`, the threads named `main_thread` and `worker_<i>`
// (source/server/guarddog_impl.cc, GuardDogImpl and WatchedDog; source/server/server.cc;
// ListenerManagerImpl names the workers). All are defined at start, at 0.

import { MAIN_THREAD, workerThread } from "./log.ts";
import type { StatsStore } from "./stats.ts";

export type WatchdogEvent = "miss" | "megamiss";

const STAT_OF: Record<WatchdogEvent, string> = { miss: "watchdog_miss", megamiss: "watchdog_mega_miss" };

export class WatchdogStats {
  constructor(
    private readonly stats: StatsStore,
    workers: number,
  ) {
    const threads = ["main_thread", ...Array.from({ length: workers }, (_, i) => `worker_${i}`)];
    for (const name of [...["main_thread", "workers"], ...threads.map((thread) => `server.${thread}`)]) {
      for (const stat of Object.values(STAT_OF)) stats.define(`${name}.${stat}`, "counter");
    }
  }

  /** Count a stall on a thread, by the number its lines print (the base, canary and main VMs' is the main thread's). */
  count(event: WatchdogEvent, thread: number): void {
    const onMain = thread === MAIN_THREAD;
    const name = onMain ? "main_thread" : `worker_${thread - workerThread(0)}`;
    this.stats.add(`${onMain ? "main_thread" : "workers"}.${STAT_OF[event]}`, 1n);
    this.stats.add(`server.${name}.${STAT_OF[event]}`, 1n);
  }
}
