// Host calls that only make sense in an HTTP stream: there is no header map and no local reply on
// a TCP connection, and Envoy answers BadArgument.

import { WasmResult } from "../abi.ts";
import { hostCall } from "../spec.ts";

const I32 = "i32";
const badArgument = () => WasmResult.BadArgument;
const words = (count: number) => Array<"i32">(count).fill(I32);

export const HTTP_CALLS = [
  hostCall({ name: "proxy_send_local_response", params: words(8), call: badArgument }),
  hostCall({ name: "proxy_get_header_map_value", params: words(5), call: badArgument }),
  hostCall({ name: "proxy_add_header_map_value", params: words(5), call: badArgument }),
  hostCall({ name: "proxy_replace_header_map_value", params: words(5), call: badArgument }),
  hostCall({ name: "proxy_remove_header_map_value", params: words(3), call: badArgument }),
  hostCall({ name: "proxy_get_header_map_pairs", params: words(3), call: badArgument }),
  hostCall({ name: "proxy_set_header_map_pairs", params: words(3), call: badArgument }),
  hostCall({ name: "proxy_get_header_map_size", params: words(2), call: badArgument }),
];
