// The plugin against the host's log level (proxy_get_log_level, ABI 0.2.1): it builds only the
// lines the host prints, reads properties only for those, asks once per callback, follows a
// change between callbacks, and keeps the metrics exact whatever the level.

import "../../assembly/logger/index";
import {
  proxy_on_context_create, proxy_on_delete, proxy_on_done, proxy_on_downstream_connection_close,
  proxy_on_downstream_data, proxy_on_log, proxy_on_new_connection, proxy_on_upstream_connection_close,
  proxy_on_upstream_data,
} from "../../assembly/kit/exports";
import {
  bytesOf, failHostLogLevel, hostLogLevelQueries, logLines, metric, pairsOf, propertyReads, resetHost,
  setBuffer, setHostLogLevel, setProperty, setStringProperty, setTime,
} from "./mock";
import { startRoot } from "./root";

export { malloc } from "@solo-io/proxy-runtime/malloc";

const DOWNSTREAM: u32 = 2;
const UPSTREAM: u32 = 3;

const DEBUG: u32 = 1;
const INFO: u32 = 2;
const WARN: u32 = 3;
const OFF: u32 = 6;

function configure(root: u32): void {
  startRoot(root, "tcp_connection_logger", "");
}

/** The client, the upstream address, the cluster and its `location` metadata, as Envoy has them by the first upstream data. */
function arrangeUpstream(): void {
  setStringProperty("source\0address", "127.0.0.1:51234");
  setStringProperty("upstream\0address", "127.0.0.1:8099");
  setStringProperty("xds\0cluster_name", "web_service");
  setProperty("xds\0cluster_metadata\0filter_metadata\0location",
    pairsOf([bytesOf("region"), bytesOf("az")], [bytesOf("ap-northeast-1"), bytesOf("ap-northeast-1a")]));
}

/** One whole connection in Envoy's order: 5 bytes downstream, 2 upstream, then both closes and done. */
function runConnection(id: u32, root: u32): void {
  proxy_on_context_create(id, root);
  proxy_on_new_connection(id);
  setBuffer(DOWNSTREAM, bytesOf("hello"));
  proxy_on_downstream_data(id, 5, 0);
  setBuffer(UPSTREAM, bytesOf("ok"));
  proxy_on_upstream_data(id, 2, 0);
  setBuffer(DOWNSTREAM, new ArrayBuffer(0));
  setBuffer(UPSTREAM, new ArrayBuffer(0));
  proxy_on_downstream_data(id, 0, 1);
  proxy_on_upstream_data(id, 0, 1);
  proxy_on_upstream_connection_close(id, 0);
  proxy_on_downstream_connection_close(id, 1);
  proxy_on_done(id);
  proxy_on_log(id);
  proxy_on_delete(id);
}

function expectCounted(connections: f64, downstreamBytes: f64, upstreamBytes: f64): void {
  expect(metric("connection_counter")).toBe(connections);
  expect(metric("connection_active")).toBe(0);
  expect(metric("connection_downstream_bytes")).toBe(downstreamBytes);
  expect(metric("connection_upstream_bytes")).toBe(upstreamBytes);
}

describe("the host's log level", () => {
  beforeEach(() => {
    resetHost();
  });

  it("at warn, logs only the cluster's warning, and counts everything", () => {
    setHostLogLevel(WARN);
    configure(1);
    // The upstream address and the host's metadata are read for info lines only: at warn their
    // absence, or malformed host metadata, says nothing.
    setStringProperty("xds\0cluster_name", "bare");
    setProperty("xds\0upstream_host_metadata\0filter_metadata\0location", bytesOf("x"));
    runConnection(2, 1);
    expect(logLines()).toStrictEqual([
      "3 connection 2: no upstream cluster metadata \"location\" for cluster \"bare\" (xds.cluster_metadata: NotFound)",
    ]);
    expectCounted(1, 5, 2);
  });

  it("at warn, reads the cluster's name, and its metadata only the first time", () => {
    setHostLogLevel(WARN);
    configure(3);
    arrangeUpstream();
    let before = propertyReads();
    runConnection(4, 3);
    expect(logLines().length).toBe(0);
    // xds.cluster_name, then xds.cluster_metadata: not the client's or the upstream's address
    expect(propertyReads() - before).toBe(2);
    before = propertyReads();
    runConnection(5, 3);
    expect(propertyReads() - before).toBe(1);
    expectCounted(2, 10, 4);
  });

  it("with logging off, logs nothing and reads no property, and counts everything", () => {
    setHostLogLevel(OFF);
    configure(5);
    arrangeUpstream();
    const before = propertyReads();
    runConnection(6, 5);
    expect(logLines().length).toBe(0);
    expect(propertyReads() - before).toBe(0);
    expectCounted(1, 5, 2);
  });

  it("asks the level once per callback that may log", () => {
    configure(7);
    arrangeUpstream();
    const asked = hostLogLevelQueries();
    proxy_on_context_create(8, 7);
    expect(hostLogLevelQueries() - asked).toBe(0);
    proxy_on_new_connection(8);
    expect(hostLogLevelQueries() - asked).toBe(1);
    setBuffer(DOWNSTREAM, bytesOf("hello"));
    proxy_on_downstream_data(8, 5, 1);
    expect(hostLogLevelQueries() - asked).toBe(2);
    setBuffer(UPSTREAM, bytesOf("ok"));
    proxy_on_upstream_data(8, 2, 1); // the upstream description and the data lines: one query
    expect(hostLogLevelQueries() - asked).toBe(3);
    proxy_on_upstream_connection_close(8, 0);
    proxy_on_downstream_connection_close(8, 1);
    expect(hostLogLevelQueries() - asked).toBe(5);
    proxy_on_done(8);
    proxy_on_done(8); // already done: nothing to log
    proxy_on_log(8);
    proxy_on_delete(8);
    expect(hostLogLevelQueries() - asked).toBe(6);
  });

  it("follows a level change between two callbacks of one connection", () => {
    setHostLogLevel(OFF);
    configure(9);
    arrangeUpstream();
    setTime(1000);
    proxy_on_context_create(10, 9);
    proxy_on_new_connection(10);
    setBuffer(DOWNSTREAM, bytesOf("hello"));
    proxy_on_downstream_data(10, 5, 0);
    setHostLogLevel(INFO);
    // The first upstream data came at info: the upstream is described before it, without the
    // debug line about the host's missing metadata.
    setBuffer(UPSTREAM, bytesOf("ok"));
    proxy_on_upstream_data(10, 2, 0);
    setHostLogLevel(WARN);
    proxy_on_downstream_connection_close(10, 1);
    setHostLogLevel(DEBUG);
    setTime(1042);
    proxy_on_done(10);
    proxy_on_delete(10);
    expect(logLines()).toStrictEqual([
      "2 connection 10: upstream address: 127.0.0.1:8099",
      "2 connection 10: upstream cluster metadata location.az: ap-northeast-1a",
      "2 connection 10: upstream cluster metadata location.region: ap-northeast-1",
      "2 connection 10: upstream data: 2 bytes: ok",
      // It opened while logging was off: its start was not read, so no duration.
      "2 connection 10: done: 5 bytes from downstream, 2 bytes from upstream",
    ]);
    expectCounted(1, 5, 2);
  });

  it("describes the upstream once: not later, when its first data came while info was off", () => {
    setHostLogLevel(OFF);
    configure(11);
    arrangeUpstream();
    proxy_on_context_create(12, 11);
    proxy_on_new_connection(12);
    setBuffer(UPSTREAM, bytesOf("ok"));
    proxy_on_upstream_data(12, 2, 0);
    setHostLogLevel(INFO);
    setBuffer(UPSTREAM, bytesOf("more"));
    proxy_on_upstream_data(12, 4, 0);
    expect(logLines()).toStrictEqual(["2 connection 12: upstream data: 4 bytes: more"]);
    proxy_on_downstream_connection_close(12, 2);
    proxy_on_done(12);
    proxy_on_delete(12);
  });

  it("builds every line, as before, when the host cannot tell the level", () => {
    setHostLogLevel(OFF);
    failHostLogLevel(12); // Unimplemented
    configure(13);
    arrangeUpstream();
    runConnection(14, 13);
    const lines = logLines();
    expect(lines.length).toBe(13);
    expect(lines[0]).toBe("2 configured: metadata_namespace=location payload_preview_bytes=256");
    expect(lines[1]).toBe("2 connection 14: new connection from 127.0.0.1:51234");
    expect(lines[6]).toBe("1 connection 14: no upstream host metadata \"location\" (xds.upstream_host_metadata: NotFound)");
    expect(lines[8]).toBe("1 connection 14: downstream end of stream");
    expect(lines[12]).toBe("2 connection 14: done: 5 bytes from downstream, 2 bytes from upstream, 0 ms");
    expectCounted(1, 5, 2);
  });
});
