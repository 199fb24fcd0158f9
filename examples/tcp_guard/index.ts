// tcp_guard (build/tcp_guard.wasm): the kit's ABI exports, dispatched to the guard's classes.

import { NetworkFilter } from "../../assembly/kit";
import { GuardConnection } from "./connection";
import { GuardPlugin } from "./plugin";

export * from "../../assembly/kit/exports";

// Its root id, and "" for a configuration that leaves root_id out.
@global const networkFilter = new NetworkFilter<GuardPlugin, GuardConnection>(["tcp_guard", ""]);
