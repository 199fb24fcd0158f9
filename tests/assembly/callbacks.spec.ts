// One connection through the plugin's ABI exports, in Envoy's order (docs/envoy-host.md §3), against
// the mocked host: the exact log lines and metric values.

import "../../assembly/logger/index";
import {
  proxy_on_configure, proxy_on_context_create, proxy_on_delete, proxy_on_done,
  proxy_on_downstream_connection_close, proxy_on_downstream_data, proxy_on_log, proxy_on_new_connection,
  proxy_on_upstream_connection_close, proxy_on_upstream_data, proxy_on_vm_start,
} from "../../assembly/kit/exports";
import {
  bytesOf, logLines, metric, pairsOf, resetHost, setBuffer, setProperty, setStringProperty, setTime,
} from "./mock";
import { startRoot } from "./root";

export { malloc } from "@solo-io/proxy-runtime/malloc";

const DOWNSTREAM: u32 = 2;
const UPSTREAM: u32 = 3;

function configure(root: u32, json: string): u32 {
  return startRoot(root, "tcp_connection_logger", json);
}

describe("the plugin's callbacks", () => {
  beforeEach(() => {
    resetHost();
  });

  it("logs one connection and counts it once", () => {
    expect(configure(1, "")).toBe(1);
    setTime(1000);
    setStringProperty("source\0address", "127.0.0.1:51234");
    proxy_on_context_create(2, 1);
    expect(proxy_on_new_connection(2)).toBe(0);

    const request = bytesOf("POST / HTTP/1.1\r\nHost: localhost:18000\r\n\r\n[initial body]");
    setBuffer(DOWNSTREAM, request);
    expect(proxy_on_downstream_data(2, request.byteLength, 0)).toBe(0);

    setStringProperty("upstream\0address", "127.0.0.1:8099");
    setProperty("xds\0cluster_metadata\0filter_metadata\0location",
      pairsOf([bytesOf("region"), bytesOf("az")], [bytesOf("ap-northeast-1"), bytesOf("ap-northeast-1a")]));
    const reply = bytesOf("HTTP/1.1 200 OK\r\n\r\nexample body\n");
    setBuffer(UPSTREAM, reply);
    expect(proxy_on_upstream_data(2, reply.byteLength, 0)).toBe(0);

    setBuffer(DOWNSTREAM, new ArrayBuffer(0));
    setBuffer(UPSTREAM, new ArrayBuffer(0));
    expect(proxy_on_downstream_data(2, 0, 1)).toBe(0);
    expect(proxy_on_upstream_data(2, 0, 1)).toBe(0);
    proxy_on_upstream_connection_close(2, 0);
    proxy_on_downstream_connection_close(2, 2);
    setTime(1042);
    expect(proxy_on_done(2)).toBe(1);
    expect(proxy_on_done(2)).toBe(1); // a second done counts nothing
    proxy_on_log(2);
    proxy_on_delete(2);

    const lines = logLines();
    expect(lines.length).toBe(13);
    expect(lines[0]).toBe("2 configured: metadata_namespace=location payload_preview_bytes=256");
    expect(lines[1]).toBe("2 connection 2: new connection from 127.0.0.1:51234");
    expect(lines[2]).toBe("2 connection 2: downstream data: 56 bytes: POST / HTTP/1.1\\r\\nHost: localhost:18000\\r\\n\\r\\n[initial body]");
    expect(lines[3]).toBe("2 connection 2: upstream address: 127.0.0.1:8099");
    expect(lines[4]).toBe("2 connection 2: upstream cluster metadata location.az: ap-northeast-1a");
    expect(lines[5]).toBe("2 connection 2: upstream cluster metadata location.region: ap-northeast-1");
    // xds.cluster_metadata answered: the host knows the xds.* names, the legacy one is not read.
    expect(lines[6]).toBe("1 connection 2: no upstream host metadata \"location\" (xds.upstream_host_metadata: NotFound)");
    expect(lines[7]).toBe("2 connection 2: upstream data: 32 bytes: HTTP/1.1 200 OK\\r\\n\\r\\nexample body\\n");
    expect(lines[8]).toBe("1 connection 2: downstream end of stream");
    expect(lines[9]).toBe("1 connection 2: upstream end of stream");
    expect(lines[10]).toBe("2 connection 2: upstream connection closed (peer: unknown)");
    expect(lines[11]).toBe("2 connection 2: downstream connection closed (peer: remote)");
    expect(lines[12]).toBe("2 connection 2: done: 56 bytes from downstream, 32 bytes from upstream, 42 ms");
    expect(metric("connection_counter")).toBe(1);
    expect(metric("connection_active")).toBe(0);
    expect(metric("connection_downstream_bytes")).toBe(56);
    expect(metric("connection_upstream_bytes")).toBe(32);
  });

  it("warns about missing metadata and truncates previews to the budget", () => {
    expect(configure(3, "{\"metadata_namespace\": \"location\", \"payload_preview_bytes\": 4}")).toBe(1);
    proxy_on_context_create(4, 3);
    proxy_on_new_connection(4);
    const chunk = bytesOf("\x1b[2Jhello");
    setBuffer(DOWNSTREAM, chunk);
    proxy_on_downstream_data(4, chunk.byteLength, 1);
    setBuffer(UPSTREAM, bytesOf("ok"));
    proxy_on_upstream_data(4, 2, 0);
    proxy_on_downstream_connection_close(4, 1);
    proxy_on_done(4);
    proxy_on_delete(4);

    const lines = logLines();
    expect(lines.length).toBe(10);
    expect(lines[0]).toBe("2 configured: metadata_namespace=location payload_preview_bytes=4");
    expect(lines[1]).toBe("2 connection 4: new connection from unknown");
    expect(lines[2]).toBe("2 connection 4: downstream data: 9 bytes: \\x1b[2J ... (+5 bytes)");
    expect(lines[3]).toBe("1 connection 4: downstream end of stream");
    expect(lines[4]).toBe("3 connection 4: upstream address unavailable: NotFound");
    expect(lines[5]).toBe("3 connection 4: no upstream cluster metadata \"location\" (xds.cluster_metadata: NotFound, cluster_metadata: NotFound)");
    expect(lines[6]).toBe("1 connection 4: no upstream host metadata \"location\" (xds.upstream_host_metadata: NotFound, upstream_host_metadata: NotFound)");
    expect(lines[7]).toBe("2 connection 4: upstream data: 2 bytes: ok");
    expect(lines[8]).toBe("2 connection 4: downstream connection closed (peer: local)");
    expect(lines[9]).toBe("2 connection 4: done: 9 bytes from downstream, 2 bytes from upstream, 0 ms");
  });

  it("logs data without a preview when previews are off", () => {
    expect(configure(5, "{\"payload_preview_bytes\": 0}")).toBe(1);
    proxy_on_context_create(6, 5);
    setBuffer(DOWNSTREAM, bytesOf("secret"));
    proxy_on_downstream_data(6, 6, 0);
    expect(logLines()[1]).toBe("2 connection 6: downstream data: 6 bytes");
  });

  it("refuses a bad configuration with an error naming the key", () => {
    expect(configure(7, "{\"foo\": 1}")).toBe(0);
    const lines = logLines();
    expect(lines.length).toBe(1);
    expect(lines[0]).toBe("4 invalid plugin configuration: unknown key \"foo\"");
  });

  it("refuses a root id the plugin does not serve", () => {
    setStringProperty("plugin_root_id", "other");
    proxy_on_context_create(8, 0);
    expect(proxy_on_vm_start(8, 0)).toBe(0);
    expect(proxy_on_configure(8, 0)).toBe(0);
    expect(logLines()[0]).toBe("4 no root context for root id \"other\"");
  });
});
