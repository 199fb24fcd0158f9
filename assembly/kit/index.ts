// The kit, in one import: what a filter is written with. A filter's files import from here
// (`import { Connection, NetworkFilter } from "../../assembly/kit"`); its entry file also
// re-exports the ABI, which is kept apart so that importing the kit exports nothing:
//
//   export * from "../../assembly/kit/exports";
//
// The modules named below are the kit's public API; the others (imports.ts, the host calls and
// buffers of host.ts, the dispatcher's internals) are its own. AssemblyScript compiles only what
// a filter uses, so this import costs no byte of the module.

// proxy-runtime's enums, as the callbacks take and return them
export { FilterStatusValues, LogLevelValues, PeerTypeValues, StreamTypeValues, WasmResultValues } from "@solo-io/proxy-runtime/runtime";

// the filter: its registration, its connection class, a plugin class without settings
export { NetworkFilter } from "./filter";
export { Connection } from "./connection";
export { NoConfiguration } from "./plugin";
export { StreamData } from "./stream";

// settings, parsed from the plugin configuration's JSON
export { applyConfiguration, parseConfiguration, ParsedConfiguration, quoted, quotedBytes } from "./configuration";
export { JsonKind, JsonMember, JsonValue } from "./json";

// logging: one-statement lines (LogLine), and the byte-level pieces they are made of
export { log, logLevel } from "./log";
export { LogLine, logLine } from "./logline";
import * as line from "./logline";
export { line };
export { escapeBytes } from "./escape";
export { indexOfByte } from "./bytes";
export { EveryPowerOfTwo } from "./ratelimit";

// metrics, defined by the kit when the plugin is configured
export { counter, gauge, Metric } from "./metrics";

// HTTP calls from a connection: the answer comes to its onHttpCallResponse(response)
export { HttpCallRequest, HttpCallResponse, sendHttpCall } from "./http_call";

// state shared by every VM of the plugin's vm_id (counters and lists, with CAS retries), and ticks
export { SharedCounter, SharedList, SharedUpdate } from "./shared";
export { setTickPeriod } from "./tick";

// properties, metadata and addresses
export { closeStream, currentTimeNanoseconds, HostBytes, resultName } from "./host";
export { decodePairs, isPairs, Pair, readProperty } from "./properties";
export {
  appendMetadataValue, metadataEntries, MetadataNamespace, PropertyNaming, VersionedProperty, VersionedRead,
} from "./metadata";
export { IpAddress, parseDecimal, parseIpRange, parseSocketAddress, SocketAddress, writeDecimal } from "./address";
