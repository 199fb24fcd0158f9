import * as line from "../../assembly/kit/logline";
import { FilterMetadata, MetadataNamespace, readFilterMetadata } from "../../assembly/kit/metadata";
import { bytesOf, failProperty, logLines, pairsOf, resetHost, setProperty } from "./mock";

export { malloc } from "@solo-io/proxy-runtime/malloc";

const CURRENT_PATH = "xds\0cluster_metadata\0filter_metadata\0location";
const LEGACY_PATH = "cluster_metadata\0filter_metadata\0location";

function location(): ArrayBuffer {
  return pairsOf(
    [bytesOf("region"), bytesOf("cloud_provider"), bytesOf("az")],
    [bytesOf("ap-northeast-1"), bytesOf("aws"), bytesOf("ap-northeast-1a")],
  );
}

/** The attempts as the plugin writes them into a log line. */
function attempts(metadata: FilterMetadata): string {
  line.begin();
  metadata.appendAttempts();
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
  });

  it("escapes the namespace for log lines", () => {
    expect(new MetadataNamespace("a\nb").shown).toBe("a\\nb");
  });
});

describe("readFilterMetadata", () => {
  beforeEach(() => {
    resetHost();
  });

  it("reads the current property name and sorts the entries by key", () => {
    setProperty(CURRENT_PATH, location());
    const metadata = readFilterMetadata(new MetadataNamespace("location").cluster, true);
    expect(metadata.found).toBe(true);
    expect(attempts(metadata)).toBe("xds.cluster_metadata: Ok");
    expect(metadata.entries.length).toBe(3);
    expect(metadata.entries[0].key).toBe("az");
    expect(String.UTF8.decode(metadata.entries[0].value)).toBe("ap-northeast-1a");
    expect(metadata.entries[1].key).toBe("cloud_provider");
    expect(metadata.entries[2].key).toBe("region");
    expect(String.UTF8.decode(metadata.entries[2].value)).toBe("ap-northeast-1");
  });

  it("falls back to the legacy name when the current one is NotFound", () => {
    setProperty(LEGACY_PATH, location());
    const metadata = readFilterMetadata(new MetadataNamespace("location").cluster, true);
    expect(metadata.found).toBe(true);
    expect(attempts(metadata)).toBe("xds.cluster_metadata: NotFound, cluster_metadata: Ok");
    expect(metadata.entries.length).toBe(3);
    expect(String.UTF8.decode(metadata.entries[1].value)).toBe("aws");
  });

  it("reports both names when neither has the namespace", () => {
    const metadata = readFilterMetadata(new MetadataNamespace("location").host, true);
    expect(metadata.found).toBe(false);
    expect(attempts(metadata)).toBe("xds.upstream_host_metadata: NotFound, upstream_host_metadata: NotFound");
    expect(metadata.entries.length).toBe(0);
  });

  it("does not fall back on a failure other than NotFound", () => {
    failProperty(CURRENT_PATH, 3);
    setProperty(LEGACY_PATH, location());
    const metadata = readFilterMetadata(new MetadataNamespace("location").cluster, true);
    expect(metadata.found).toBe(false);
    expect(attempts(metadata)).toBe("xds.cluster_metadata: SerializationFailure");
  });

  it("without entries, still tells found from malformed and keeps no entry", () => {
    setProperty(CURRENT_PATH, location());
    const found = readFilterMetadata(new MetadataNamespace("location").cluster, false);
    expect(found.found).toBe(true);
    expect(found.malformed).toBe("");
    expect(found.entries.length).toBe(0);
    setProperty(CURRENT_PATH, bytesOf("ap-northeast-1a"));
    const malformed = readFilterMetadata(new MetadataNamespace("location").cluster, false);
    expect(malformed.malformed).toBe("1848471649 entries do not fit in 15 bytes");
  });

  it("reports a value that is not a pairs map, without aborting", () => {
    setProperty(CURRENT_PATH, bytesOf("ap-northeast-1a"));
    const metadata = readFilterMetadata(new MetadataNamespace("location").cluster, true);
    expect(metadata.found).toBe(true);
    expect(metadata.malformed).toBe("1848471649 entries do not fit in 15 bytes");
    expect(metadata.entries.length).toBe(0);
  });
});
