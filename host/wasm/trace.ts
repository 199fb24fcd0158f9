// The trace of a VM: one event (contract.ts) per call across the ABI, with its raw words and
// what they mean. Events come in the order the calls are made, except that what a host call
// causes (the log lines it prints, the host calls the module makes from inside malloc) comes
// after the event of the host call itself, so that the trace reads as cause, then effect. A VM
// builds none of this when tracing is off. trace-text.ts renders the events as the CLI's lines.

import type { Logger } from "../log.ts";
import { WasmResult } from "./abi.ts";
import type { EnterEvent, HostCallEvent, LeaveEvent, TraceListener, Word } from "./contract.ts";
import { NOTHING, type Callback, type HostCall, type HostContext } from "./spec.ts";

/** Puts a VM's calls in order as events for a listener. */
export class TraceRecorder {
  /** what the host call under way causes, held until its own event is out; null between host calls */
  private held: Array<() => void> | null = null;

  constructor(
    private readonly listener: TraceListener,
    private readonly thread: number,
  ) {}

  enter(callback: Callback, args: readonly number[]): void {
    const meaning = callback.describe?.(args) ?? NOTHING;
    const event: EnterEvent = { kind: "enter", thread: this.thread, name: callback.name, args, meaning };
    this.output(() => this.listener(event));
  }

  leave(callback: Callback, result: number | undefined): void {
    const meaning = result === undefined ? NOTHING : (callback.result?.describe(result) ?? NOTHING);
    const event: LeaveEvent = { kind: "leave", thread: this.thread, name: callback.name, result, meaning };
    this.output(() => this.listener(event));
  }

  /** Run a host call; its event goes out before anything it caused. */
  hostCall(call: HostCall, args: readonly Word[], host: HostContext, run: () => number | void): number | void {
    const outer = this.held;
    const held: Array<() => void> = [];
    this.held = held;
    try {
      const result = run() ?? undefined;
      const meaning = call.describe?.(args, result, host) ?? NOTHING;
      const resultName = call.module === "env" ? (WasmResult[result as number] ?? String(result)) : String(result);
      const event: HostCallEvent = { kind: "host", thread: this.thread, name: call.name, args, result, resultName, meaning };
      held.unshift(() => this.listener(event));
      return result;
    } finally {
      this.held = outer;
      for (const output of held) this.output(output);
    }
  }

  /** The logger, with the lines printed during a host call held until that call's event. */
  holding(logger: Logger): Logger {
    return {
      enabled: (component, level) => logger.enabled(component, level),
      log: (component, level, source, message, thread) =>
        this.output(() => logger.log(component, level, source, message, thread)),
    };
  }

  private output(output: () => void): void {
    if (this.held === null) output();
    else this.held.push(output);
  }
}
