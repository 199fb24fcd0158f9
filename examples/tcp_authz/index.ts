// tcp_authz (build/tcp_authz.wasm): the kit's ABI exports, dispatched to the filter's classes.

import { NetworkFilter } from "../../assembly/kit";
import { AuthzConnection } from "./connection";
import { AuthzPlugin } from "./plugin";

export * from "../../assembly/kit/exports";

// Its root id, and "" for a configuration that leaves root_id out.
@global const networkFilter = new NetworkFilter<AuthzPlugin, AuthzConnection>(["tcp_authz", ""]);
