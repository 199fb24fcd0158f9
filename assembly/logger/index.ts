// The TCP connection logger (build/main.wasm): the kit's ABI exports, dispatched to the logger's
// classes for the root ids it serves.

import { NetworkFilter } from "../kit";
import { LoggerConnection } from "./connection";
import { LoggerPlugin } from "./plugin";

export * from "../kit/exports";

// envoy/envoy.yaml's root_id, and "" for a configuration that leaves root_id out.
@global const networkFilter = new NetworkFilter<LoggerPlugin, LoggerConnection>(["tcp_connection_logger", ""]);
