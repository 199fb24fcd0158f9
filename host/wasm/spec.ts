// The shape of an entry of the ABI table (abi-table.ts): a callback the module exports or a host
// call it imports, with its signature, the ABI versions that have it, when it may run, and how
// the trace reads its words. And HostContext: all that a host call may use of its VM.

import { ABI_VERSIONS, words, type AbiVersion, type Signature, type ValType } from "./abi.ts";
import type { Context } from "./contexts.ts";
import type { Meaning, Word } from "./contract.ts";
import type { WasmMemory } from "./memory.ts";

/** The meaning of words that say nothing more than themselves. */
export const NOTHING: Meaning = {};

/** What the VM is running, for the host calls restricted outside callbacks (docs/envoy-host.md §1). */
export enum Phase {
  /** the start section, during instantiation: no host call at all */
  Instantiation,
  /** `_initialize`, `main`, `_start` */
  Start,
  /** the module's allocator, called by the host */
  Malloc,
  /** a proxy_on_* callback: every host call */
  Callback,
}

/** All a host call sees of its VM. The VM implements it; host calls touch nothing else of it. */
export interface HostContext {
  /** the module's linear memory */
  readonly memory: WasmMemory;
  /**
   * The context the call acts on: the callback's, the one chosen with
   * proxy_set_effective_context, or the VM's own (id 0) outside callbacks.
   */
  readonly context: Context;
  readonly phase: Phase;
  /** proxy_set_effective_context: false when no live context has this id */
  setEffectiveContext(id: number): boolean;
}

/** A WASI call also knows under which of the two WASI module names it was imported. */
export interface WasiContext extends HostContext {
  readonly module: string;
}

// ---------------------------------------------------------------- host calls

export interface HostCall {
  readonly name: string;
  /** `env` for proxy_*, or both WASI module names */
  readonly module: "env" | "wasi";
  readonly signature: Signature;
  /** the ABI versions that register it */
  readonly versions: readonly AbiVersion[];
  /** the phases besides callbacks in which cpp-host lets the module call it */
  readonly allowedIn: ReadonlySet<Phase>;
  /** the shim: decode the words, ask the context, write the answer back */
  readonly call: HostFunction;
  readonly describe: ((args: readonly Word[], result: number | undefined, host: HostContext) => Meaning) | undefined;
  readonly text: ((meaning: Meaning) => string) | undefined;
}

/**
 * A shim as the import object calls it: with at most ten words (the most a host call this host
 * implements takes: proxy_http_call), passed on whether the module gave them or not, so that no
 * call allocates.
 */
export type HostFunction = (
  host: HostContext, a: Word, b: Word, c: Word, d: Word, e: Word, f: Word, g: Word, h: Word, i: Word, j: Word,
) => number | void;

interface HostCallSpec<A extends Word[], H extends HostContext> {
  name: string;
  module?: "wasi";
  /** parameter types; every host call answers one i32 unless `results` says otherwise */
  params: readonly ValType[];
  results?: readonly ValType[];
  /** absent: every version */
  versions?: readonly AbiVersion[];
  /** absent: callbacks only */
  allowedIn?: readonly Phase[];
  call(host: H, ...args: A): number | void;
  /** what the words mean, read after the call (the values the host wrote back included) */
  describe?(args: A, result: number | undefined, host: H): Meaning;
  /** the meaning as the CLI prints it after the call's words; called only for a meaning with facts */
  text?(meaning: Meaning): string;
}

/** An entry of the table; the generic parameters type the shim's words and its describer together. */
export function hostCall<A extends Word[], H extends HostContext = HostContext>(spec: HostCallSpec<A, H>): HostCall {
  return {
    name: spec.name,
    module: spec.module ?? "env",
    signature: { params: spec.params, results: spec.results ?? ["i32"] },
    versions: spec.versions ?? ABI_VERSIONS,
    allowedIn: new Set(spec.allowedIn ?? []),
    call: spec.call as unknown as HostFunction,
    describe: spec.describe as HostCall["describe"],
    text: spec.text,
  };
}

/**
 * Host calls that answer the same word whatever they are given (the calls this host does not
 * implement, or that mean nothing on a TCP connection), by their count of i32 parameters.
 */
export function answering(
  answer: number,
  namesByArity: Readonly<Record<number, readonly string[]>>,
  versions: readonly AbiVersion[] = ABI_VERSIONS,
): HostCall[] {
  return Object.entries(namesByArity).flatMap(([arity, names]) =>
    names.map((name) => hostCall({ name, params: words(Number(arity)), versions, call: () => answer })),
  );
}

// ---------------------------------------------------------------- callbacks

export interface Callback {
  readonly name: string;
  /** its place in a VM's table of bound exports */
  readonly slot: number;
  /** the signature cpp-host wants, by the module's ABI version */
  signature(version: AbiVersion): Signature;
  /** the ABI versions in which cpp-host looks for it */
  readonly versions: readonly AbiVersion[];
  /** what the arguments mean (the context id first, for proxy_on_*) */
  readonly describe: ((args: readonly number[]) => Meaning) | undefined;
  readonly text: ((meaning: Meaning) => string) | undefined;
  /** what the returned word means */
  readonly result: ResultMeaning | undefined;
}

export interface ResultMeaning {
  describe(result: number): Meaning;
  text(meaning: Meaning): string;
}

interface CallbackSpec {
  name: string;
  params: readonly ValType[];
  results: readonly ValType[];
  /** a signature that differs by version */
  signatureIn?(version: AbiVersion): Signature;
  versions?: readonly AbiVersion[];
  describe?(args: readonly number[]): Meaning;
  text?(meaning: Meaning): string;
  result?: ResultMeaning;
}

let slots = 0;

/** Callbacks this host never calls, only looks for: name and signature, by signature. */
export function lookedFor(params: readonly ValType[], results: readonly ValType[], names: readonly string[], versions?: readonly AbiVersion[]): Callback[] {
  return names.map((name) => callback({ name, params, results, versions }));
}

export function callback(spec: CallbackSpec): Callback {
  const fixed: Signature = { params: spec.params, results: spec.results };
  return {
    name: spec.name,
    slot: slots++,
    signature: spec.signatureIn ?? (() => fixed),
    versions: spec.versions ?? ABI_VERSIONS,
    describe: spec.describe,
    text: spec.text,
    result: spec.result,
  };
}
