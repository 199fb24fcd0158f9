import * as line from "../../assembly/kit/logline";
import { metadataEntries, MetadataNamespace, PropertyNaming, VersionedProperty, VersionedRead } from "../../assembly/kit/metadata";
import { bytesOf, failProperty, logLines, pairsOf, propertyReads, resetHost, setProperty } from "./mock";

export { malloc } from "@solo-io/proxy-runtime/malloc";

const CURRENT_PATH = "xds\0cluster_metadata\0filter_metadata\0location";
const LEGACY_PATH = "cluster_metadata\0filter_metadata\0location";
const HOST_CURRENT_PATH = "xds\0upstream_host_metadata\0filter_metadata\0location";
const HOST_LEGACY_PATH = "upstream_host_metadata\0filter_metadata\0location";

function location(): ArrayBuffer {
  return pairsOf(
    [bytesOf("region"), bytesOf("cloud_provider"), bytesOf("az")],
    [bytesOf("ap-northeast-1"), bytesOf("aws"), bytesOf("ap-northeast-1a")],
  );
}

/** The attempts as the plugin writes them into a log line. */
function attempts(read: VersionedRead): string {
  line.begin();
  read.appendAttempts();
  line.send(2);
  const lines = logLines();
  return lines[lines.length - 1].slice(2);
}

describe("MetadataNamespace", () => {
  it("encodes the property paths once, for both names of both kinds", () => {
    const namespace = new MetadataNamespace("envoy.lb");
    expect(String.UTF8.decode(namespace.cluster.currentPath)).toBe("xds\0cluster_metadata\0filter_metadata\0envoy.lb");
    expect(String.UTF8.decode(namespace.cluster.legacyPath)).toBe("cluster_metadata\0filter_metadata\0envoy.lb");
    expect(String.UTF8.decode(namespace.host.currentPath)).toBe("xds\0upstream_host_metadata\0filter_metadata\0envoy.lb");
    expect(String.UTF8.decode(namespace.host.legacyPath)).toBe("upstream_host_metadata\0filter_metadata\0envoy.lb");
    expect(namespace.cluster.currentName).toBe("xds.cluster_metadata");
    expect(namespace.cluster.legacyName).toBe("cluster_metadata");
  });

  it("keeps the namespace's bytes for log lines", () => {
    expect(String.UTF8.decode(new MetadataNamespace("a\nb").name)).toBe("a\nb");
  });
});

describe("PropertyNaming", () => {
  beforeEach(() => {
    resetHost();
  });

  it("reads the current name first, and only that once it has answered", () => {
    setProperty(CURRENT_PATH, location());
    const naming = new PropertyNaming();
    const namespace = new MetadataNamespace("location");
    const cluster = naming.read(namespace.cluster);
    expect(cluster.ok).toBe(true);
    expect(attempts(cluster)).toBe("xds.cluster_metadata: Ok");
    expect(cluster.bytes.byteLength).toBe(location().byteLength);
    const before = propertyReads();
    const host = naming.read(namespace.host);
    expect(host.ok).toBe(false);
    expect(attempts(host)).toBe("xds.upstream_host_metadata: NotFound");
    expect(propertyReads() - before).toBe(1);
  });

  it("falls back to the legacy name while the host is not known, then reads only legacy names", () => {
    setProperty(LEGACY_PATH, location());
    const naming = new PropertyNaming();
    const namespace = new MetadataNamespace("location");
    const cluster = naming.read(namespace.cluster);
    expect(cluster.ok).toBe(true);
    expect(attempts(cluster)).toBe("xds.cluster_metadata: NotFound, cluster_metadata: Ok");
    setProperty(HOST_LEGACY_PATH, bytesOf("x"));
    const before = propertyReads();
    const host = naming.read(namespace.host);
    expect(attempts(host)).toBe("upstream_host_metadata: Ok");
    expect(propertyReads() - before).toBe(1);
  });

  it("tries both names while neither has answered", () => {
    const naming = new PropertyNaming();
    const namespace = new MetadataNamespace("location");
    expect(attempts(naming.read(namespace.host))).toBe("xds.upstream_host_metadata: NotFound, upstream_host_metadata: NotFound");
    expect(attempts(naming.read(namespace.cluster))).toBe("xds.cluster_metadata: NotFound, cluster_metadata: NotFound");
    setProperty(HOST_CURRENT_PATH, bytesOf("x"));
    expect(attempts(naming.read(namespace.host))).toBe("xds.upstream_host_metadata: Ok");
  });

  it("does not fall back on a failure other than NotFound", () => {
    failProperty(CURRENT_PATH, 3);
    setProperty(LEGACY_PATH, location());
    const read = new PropertyNaming().read(new MetadataNamespace("location").cluster);
    expect(read.ok).toBe(false);
    expect(attempts(read)).toBe("xds.cluster_metadata: SerializationFailure");
  });

  it("reads a property without a path after its name, such as the cluster's name", () => {
    setProperty("xds\0cluster_name", bytesOf("web_service"));
    const read = new PropertyNaming().read(new VersionedProperty("cluster_name", ""));
    expect(String.UTF8.decode(read.bytes)).toBe("web_service");
  });
});

describe("metadataEntries", () => {
  it("sorts the entries by key, as they read escaped", () => {
    const found = metadataEntries(location());
    expect(found.malformed).toBe("");
    expect(found.entries.length).toBe(3);
    expect(String.UTF8.decode(found.entries[0].key)).toBe("az");
    expect(String.UTF8.decode(found.entries[0].value)).toBe("ap-northeast-1a");
    expect(String.UTF8.decode(found.entries[1].key)).toBe("cloud_provider");
    expect(String.UTF8.decode(found.entries[2].key)).toBe("region");
    // "\x01" reads `\x01`, before `a`; "é" reads `\xc3\xa9`, before `~`
    const odd = metadataEntries(pairsOf([bytesOf("~"), bytesOf("\xc3\xa9"), bytesOf("a"), bytesOf("\x01")], [bytesOf("1"), bytesOf("2"), bytesOf("3"), bytesOf("4")]));
    expect(String.UTF8.decode(odd.entries[0].value)).toBe("4");
    expect(String.UTF8.decode(odd.entries[1].value)).toBe("2");
    expect(String.UTF8.decode(odd.entries[2].value)).toBe("3");
    expect(String.UTF8.decode(odd.entries[3].value)).toBe("1");
  });

  it("says why a value is not a map, without aborting", () => {
    const found = metadataEntries(bytesOf("ap-northeast-1a"));
    expect(found.malformed).toBe("1848471649 entries do not fit in 15 bytes");
    expect(found.entries.length).toBe(0);
  });
});
