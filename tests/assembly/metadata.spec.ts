import {
  CLUSTER_METADATA, HOST_METADATA, LEGACY_CLUSTER_METADATA, LEGACY_HOST_METADATA, readFilterMetadata,
} from "../../assembly/metadata";
import { bytesOf, failProperty, pairsOf, resetHost, setProperty } from "./mock";

export { malloc } from "@solo-io/proxy-runtime/malloc";

const CURRENT_PATH = "xds\0cluster_metadata\0filter_metadata\0location";
const LEGACY_PATH = "cluster_metadata\0filter_metadata\0location";

function location(): ArrayBuffer {
  return pairsOf(
    [bytesOf("region"), bytesOf("cloud_provider"), bytesOf("az")],
    [bytesOf("ap-northeast-1"), bytesOf("aws"), bytesOf("ap-northeast-1a")],
  );
}

describe("readFilterMetadata", () => {
  beforeEach(() => {
    resetHost();
  });

  it("reads the current property name and sorts the entries by key", () => {
    setProperty(CURRENT_PATH, location());
    const metadata = readFilterMetadata(CLUSTER_METADATA, LEGACY_CLUSTER_METADATA, "location");
    expect(metadata.found).toBe(true);
    expect(metadata.attempts).toBe("xds.cluster_metadata: Ok");
    expect(metadata.entries.length).toBe(3);
    expect(metadata.entries[0].key).toBe("az");
    expect(metadata.entries[0].value).toBe("ap-northeast-1a");
    expect(metadata.entries[1].key).toBe("cloud_provider");
    expect(metadata.entries[2].key).toBe("region");
    expect(metadata.entries[2].value).toBe("ap-northeast-1");
  });

  it("falls back to the legacy name when the current one is NotFound", () => {
    setProperty(LEGACY_PATH, location());
    const metadata = readFilterMetadata(CLUSTER_METADATA, LEGACY_CLUSTER_METADATA, "location");
    expect(metadata.found).toBe(true);
    expect(metadata.attempts).toBe("xds.cluster_metadata: NotFound, cluster_metadata: Ok");
    expect(metadata.entries.length).toBe(3);
    expect(metadata.entries[1].value).toBe("aws");
  });

  it("reports both names when neither has the namespace", () => {
    const metadata = readFilterMetadata(HOST_METADATA, LEGACY_HOST_METADATA, "location");
    expect(metadata.found).toBe(false);
    expect(metadata.attempts).toBe("xds.upstream_host_metadata: NotFound, upstream_host_metadata: NotFound");
    expect(metadata.entries.length).toBe(0);
  });

  it("does not fall back on a failure other than NotFound", () => {
    failProperty(CURRENT_PATH, 3);
    setProperty(LEGACY_PATH, location());
    const metadata = readFilterMetadata(CLUSTER_METADATA, LEGACY_CLUSTER_METADATA, "location");
    expect(metadata.found).toBe(false);
    expect(metadata.attempts).toBe("xds.cluster_metadata: SerializationFailure");
  });

  it("reports a value that is not a pairs map, without aborting", () => {
    setProperty(CURRENT_PATH, bytesOf("ap-northeast-1a"));
    const metadata = readFilterMetadata(CLUSTER_METADATA, LEGACY_CLUSTER_METADATA, "location");
    expect(metadata.found).toBe(true);
    expect(metadata.malformed).toBe("1848471649 entries do not fit in 15 bytes");
    expect(metadata.entries.length).toBe(0);
  });
});
