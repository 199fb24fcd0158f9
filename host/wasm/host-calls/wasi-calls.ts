// The WASI calls Envoy registers under both `wasi_unstable` and `wasi_snapshot_preview1`
// (docs/envoy-host.md §1): stdout and stderr become log lines, the clocks and random bytes are
// real, there are no arguments, environment or preopened files; the rest answer ENOSYS. Errors
// are cpp-host's (src/exports.cc): EFAULT for memory out of bounds.

import { randomFillSync } from "node:crypto";
import { I32, I64, words } from "../abi.ts";
import type { Meaning } from "../contract.ts";
import { hostCall, NOTHING, Phase, type WasiContext } from "../spec.ts";
import { byteCount, u32 } from "../trace-values.ts";

const SUCCESS = 0;
const EBADF = 8;
const EFAULT = 21;
const EINVAL = 28;
const ENOSYS = 52;
const ENOTSUP = 58;
/** The most random_get fills at once (cpp-host PROXY_WASM_HOST_WASI_RANDOM_GET_MAX_SIZE_BYTES). */
const RANDOM_GET_MAX_BYTES = 64 * 1024;
const noSys = () => ENOSYS;
const START = [Phase.Start];
const START_AND_MALLOC = [Phase.Start, Phase.Malloc];

function writeZeroSizes(host: WasiContext, countPtr: number, sizePtr: number): number {
  return host.memory.writeU32(countPtr, 0) && host.memory.writeU32(sizePtr, 0) ? SUCCESS : EFAULT;
}

/** The entries of the iovec array at `iovs`, copied (an empty one is not looked at); null when one is out of bounds. */
function gather(host: WasiContext, iovs: number, count: number): Uint8Array[] | null {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const entry = host.memory.bytes(iovs + i * 8, 8);
    if (entry === null) return null;
    const view = new DataView(entry.buffer, entry.byteOffset, 8);
    const length = view.getUint32(4, true);
    if (length === 0) continue;
    const part = host.memory.copy(view.getUint32(0, true), length);
    if (part === null) return null;
    parts.push(part);
  }
  return parts;
}

const NEWLINE = 0x0a;

/** A write's bytes as cpp-host logs them: the parts joined, one trailing newline left out. */
function withoutTrailingNewline(parts: Uint8Array[]): Uint8Array[] {
  const last = parts.at(-1);
  if (last === undefined || last[last.length - 1] !== NEWLINE) return parts;
  return [...parts.slice(0, -1), last.subarray(0, last.length - 1)];
}

export const WASI_CALLS = [
  hostCall({
    name: "fd_write",
    module: "wasi",
    params: words(4),
    allowedIn: START_AND_MALLOC,
    /**
     * stdout and stderr become log lines at info and error, as Envoy logs them: one line per write
     * that has bytes, without its trailing newline (cpp-host `writevImpl`).
     */
    call(host: WasiContext, fd: number, iovs: number, iovsCount: number, writtenPtr: number) {
      if (fd !== 1 && fd !== 2) return EBADF;
      const parts = gather(host, iovs, iovsCount);
      if (parts === null) return EFAULT;
      const written = parts.reduce((sum, part) => sum + part.length, 0);
      if (written > 0) host.context.log(fd === 1 ? "info" : "error", withoutTrailingNewline(parts));
      return host.memory.writeU32(writtenPtr, written) ? SUCCESS : EFAULT;
    },
    describe([fd, , , writtenPtr], result, host): Meaning {
      const stream = fd === 1 ? "stdout" : fd === 2 ? "stderr" : undefined;
      if (stream === undefined) return NOTHING;
      return result === SUCCESS ? { stream, bytes: u32(host.memory, writtenPtr) } : { stream };
    },
    text: ({ stream, bytes }) => (bytes === undefined ? String(stream) : `${stream} ${byteCount(Number(bytes))}`),
  }),
  hostCall({ name: "fd_read", module: "wasi", params: words(4), call: noSys }),
  hostCall({ name: "fd_seek", module: "wasi", params: [I32, I64, I32, I32], call: noSys }),
  hostCall({ name: "fd_close", module: "wasi", params: words(1), call: noSys }),
  hostCall({ name: "fd_fdstat_get", module: "wasi", params: words(2), allowedIn: START, call: noSys }),
  hostCall({ name: "fd_fdstat_set_flags", module: "wasi", params: words(2), allowedIn: START, call: noSys }),
  hostCall({ name: "environ_get", module: "wasi", params: words(2), allowedIn: START, call: () => SUCCESS }),
  hostCall({
    name: "environ_sizes_get",
    module: "wasi",
    params: words(2),
    allowedIn: START,
    call: (host: WasiContext, countPtr: number, sizePtr: number) => writeZeroSizes(host, countPtr, sizePtr),
  }),
  hostCall({ name: "args_get", module: "wasi", params: words(2), allowedIn: START, call: () => SUCCESS }),
  hostCall({
    name: "args_sizes_get",
    module: "wasi",
    params: words(2),
    allowedIn: START,
    call: (host: WasiContext, countPtr: number, sizePtr: number) => writeZeroSizes(host, countPtr, sizePtr),
  }),
  hostCall({
    name: "clock_time_get",
    module: "wasi",
    params: [I32, I64, I32],
    allowedIn: START_AND_MALLOC,
    call(host: WasiContext, clockId: number, _precision: bigint, resultPtr: number) {
      // realtime and monotonic; the CPU-time clocks are not supported
      const now = clockId === 0 ? BigInt(Date.now()) * 1_000_000n : clockId === 1 ? process.hrtime.bigint() : null;
      if (now === null) return ENOTSUP;
      return host.memory.writeU64(resultPtr, now) ? SUCCESS : EFAULT;
    },
  }),
  hostCall({
    name: "random_get",
    module: "wasi",
    params: words(2),
    allowedIn: START,
    call(host: WasiContext, ptr: number, length: number) {
      if (length > RANDOM_GET_MAX_BYTES) return EINVAL;
      if (length === 0) return SUCCESS;
      const target = host.memory.bytes(ptr, length);
      if (target === null) return EFAULT;
      randomFillSync(target);
      return SUCCESS;
    },
  }),
  hostCall({ name: "sched_yield", module: "wasi", params: words(0), call: () => SUCCESS }),
  hostCall({ name: "poll_oneoff", module: "wasi", params: words(4), allowedIn: START_AND_MALLOC, call: noSys }),
  hostCall({
    name: "proc_exit",
    module: "wasi",
    params: words(1),
    results: [],
    call(host: WasiContext) {
      host.context.procExit();
    },
  }),
  hostCall({ name: "path_open", module: "wasi", params: [I32, I32, I32, I32, I32, I64, I64, I32, I32], call: noSys }),
  /** No preopened directories: the scan of a WASI libc stops at the first EBADF. */
  hostCall({ name: "fd_prestat_get", module: "wasi", params: words(2), allowedIn: START, call: () => EBADF }),
  hostCall({ name: "fd_prestat_dir_name", module: "wasi", params: words(3), allowedIn: START, call: noSys }),
];
