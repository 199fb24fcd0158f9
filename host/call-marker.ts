// Which call into a wasm module is under way, kept where another thread can read it while the
// thread making the call is stuck in it. The host thread's VMs mark every call they make
// (CallMarker); the command line's main thread reads the mark (CallReader) to tell a callback that
// does not return (docs/envoy-host.md §17). Only the outermost call is marked — the callback the
// host made, whatever the module calls back and forth inside it — so a call costs a few stores and
// one atomic store on each side; a host started without a marker (tests, benchmarks) pays a null
// check.
//
// Layout, in 32-bit words: [0] the number of the outermost call under way, 0 for none, stored
// last; [1] its VM, [2] what it calls, [3] its context id. A reader that sees the same number
// before and after reading the rest has read the words of that call.

const NUMBER = 0;
const VM = 1;
const CALL = 2;
const CONTEXT = 3;

/** Bytes of the shared memory a marker writes and a reader reads. */
export const CALL_MARKER_BYTES = 4 * Int32Array.BYTES_PER_ELEMENT;

/** What a call is to the module when it is not an export: its start function, run as it is instantiated. */
export const INSTANTIATION = -1;

/** A VM as the reader names it. */
export interface MarkedVm {
  /** the plugin's name (PluginConfig.name) */
  plugin: string;
  /** "base", "canary", "main" or "worker <i>" */
  role: string;
  /** the thread number its log lines print */
  thread: number;
}

/** What the marking thread tells the reader besides the marks: what their numbers stand for. */
export type MarkerNews = { kind: "calls"; names: readonly string[] } | { kind: "vm"; id: number; vm: MarkedVm };

/** The marking side, used by the thread whose VMs make the calls. */
export class CallMarker {
  private readonly words: Int32Array;
  /** calls under way, nested ones included */
  private depth = 0;
  private calls = 0;
  private vms = 0;

  /**
   * `callNames[i]` names what a mark of call `i` calls (a callback's slot in the ABI table);
   * `tell` passes news to the reader, before any mark that needs it.
   */
  constructor(
    buffer: SharedArrayBuffer,
    callNames: readonly string[],
    private readonly tell: (news: MarkerNews) => void,
  ) {
    this.words = new Int32Array(buffer);
    tell({ kind: "calls", names: callNames });
  }

  /** An id for a new VM, to mark its calls with. */
  addVm(vm: MarkedVm): number {
    const id = this.vms++;
    this.tell({ kind: "vm", id, vm });
    return id;
  }

  /** A call starts: `call` is a slot of the call names, or INSTANTIATION; `context` 0 for none. */
  enter(vm: number, call: number, context: number): void {
    if (this.depth++ > 0) return;
    const words = this.words;
    words[VM] = vm;
    words[CALL] = call;
    words[CONTEXT] = context;
    this.calls = this.calls === 0x7fffffff ? 1 : this.calls + 1;
    Atomics.store(words, NUMBER, this.calls);
  }

  /** The call that entered last has returned, or trapped. */
  leave(): void {
    if (--this.depth === 0) Atomics.store(this.words, NUMBER, 0);
  }
}

/** The outermost call under way, as the reader saw it. */
export interface CallUnderWay {
  /** a new number for each call: the same number twice is the same call, still running */
  number: number;
  /** undefined if the VM's news has not arrived */
  vm: MarkedVm | undefined;
  /** the export's name, or the instantiation */
  call: string;
  /** the context id it was called with; 0 for none */
  context: number;
}

/** The reading side, used by another thread. */
export class CallReader {
  private readonly words: Int32Array;
  private callNames: readonly string[] = [];
  private readonly vms = new Map<number, MarkedVm>();

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  /** Take in the marking thread's news. */
  hear(news: MarkerNews): void {
    if (news.kind === "calls") this.callNames = news.names;
    else this.vms.set(news.id, news.vm);
  }

  /** The outermost call under way, or null when the thread is in none. */
  current(): CallUnderWay | null {
    for (;;) {
      const number = Atomics.load(this.words, NUMBER);
      if (number === 0) return null;
      const vm = this.words[VM];
      const call = this.words[CALL];
      const context = this.words[CONTEXT];
      if (Atomics.load(this.words, NUMBER) !== number) continue;
      const name = call === INSTANTIATION ? "instantiation (the module's start function)" : (this.callNames[call] ?? `call ${call}`);
      return { number, vm: this.vms.get(vm), call: name, context };
    }
  }
}
