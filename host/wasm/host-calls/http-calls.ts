// Host calls that only make sense in an HTTP stream: there is no header map and no local reply on
// a TCP connection, and Envoy answers BadArgument.

import { WasmResult } from "../abi.ts";
import { answering } from "../spec.ts";

export const HTTP_CALLS = answering(WasmResult.BadArgument, {
  8: ["proxy_send_local_response"],
  5: ["proxy_get_header_map_value", "proxy_add_header_map_value", "proxy_replace_header_map_value"],
  3: ["proxy_remove_header_map_value", "proxy_get_header_map_pairs", "proxy_set_header_map_pairs"],
  2: ["proxy_get_header_map_size"],
});
