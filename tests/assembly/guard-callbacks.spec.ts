// tcp_guard's callbacks through the kit's exports against the mocked host, for what the local
// host cannot arrange: properties that are absent (NotFound).

import "../../examples/tcp_guard/index";
import { proxy_on_context_create, proxy_on_downstream_data, proxy_on_new_connection } from "../../assembly/kit/exports";
import { bufferText, bytesOf, logLines, metric, resetHost, setBuffer, setStringProperty, streamCalls } from "./mock";
import { startRoot } from "./root";

export { malloc } from "@solo-io/proxy-runtime/malloc";

const DOWNSTREAM: u32 = 2;

function configure(root: u32, json: string): void {
  expect(startRoot(root, "tcp_guard", json)).toBe(1);
}

describe("tcp_guard without the properties it reads", () => {
  beforeEach(() => {
    resetHost();
  });

  it("warns and lets a connection through when source.address is NotFound", () => {
    configure(1, "{\"deny_sources\": [\"0.0.0.0/0\"]}");
    proxy_on_context_create(2, 1);
    expect(proxy_on_new_connection(2)).toBe(0);
    expect(streamCalls().length).toBe(0);
    const lines = logLines();
    expect(lines[lines.length - 1]).toBe("3 connection 2: source address unavailable: NotFound: deny_sources not applied");
    expect(metric("tcp_guard_connections")).toBe(1);
    expect(metric("tcp_guard_denied")).toBe(0);
  });

  it("prepends PROXY UNKNOWN when destination.address is NotFound", () => {
    configure(1, "{\"proxy_protocol\": true}");
    setStringProperty("source\0address", "192.0.2.10:51234");
    proxy_on_context_create(2, 1);
    proxy_on_new_connection(2);
    setBuffer(DOWNSTREAM, bytesOf("ping"));
    expect(proxy_on_downstream_data(2, 4, 0)).toBe(0);
    expect(bufferText(DOWNSTREAM)).toBe("PROXY UNKNOWN\r\nping");
  });

  it("refuses a denied source through proxy_close_stream(Downstream)", () => {
    configure(1, "{\"deny_sources\": [\"192.0.2.0/24\"]}");
    setStringProperty("source\0address", "192.0.2.10:51234");
    proxy_on_context_create(2, 1);
    expect(proxy_on_new_connection(2)).toBe(1);
    expect(streamCalls()).toStrictEqual(["close 2"]);
    expect(metric("tcp_guard_denied")).toBe(1);
  });
});
