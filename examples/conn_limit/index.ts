// conn_limit (build/conn_limit.wasm): the kit's ABI exports, dispatched to the limiter's classes.

import { NetworkFilter } from "../../assembly/kit";
import { LimitedConnection } from "./connection";
import { LimitPlugin } from "./plugin";

export * from "../../assembly/kit/exports";

// Its root id, and "" for a configuration that leaves root_id out.
@global const networkFilter = new NetworkFilter<LimitPlugin, LimitedConnection>(["conn_limit", ""]);
