import { getBufferBytes, getLogLevel } from "../../assembly/kit/host";
import { readProperty } from "../../assembly/kit/properties";
import { bytesOf, failHostLogLevel, resetHost, setBuffer, setHostLogLevel, setProperty } from "./mock";

export { malloc } from "@solo-io/proxy-runtime/malloc";

describe("blocks the host returns", () => {
  beforeEach(() => {
    resetHost();
  });

  // The host's block comes from our malloc with one reference; adopting it must leave exactly
  // one, held by the result: 0 would be a use after free, 2 a leak per host call.
  it("adopts a property's block: the result holds its only reference", () => {
    setProperty("upstream\0address", bytesOf("127.0.0.1:8099"));
    const read = readProperty(String.UTF8.encode("upstream\0address"));
    expect(read.ok).toBe(true);
    expect(String.UTF8.decode(read.bytes)).toBe("127.0.0.1:8099");
    expect(RTrace.refCountOf(changetype<usize>(read.bytes))).toBe(1);
  });

  it("adopts a buffer's block the same way", () => {
    setBuffer(2, bytesOf("ping"));
    const read = getBufferBytes(2, 0, 4);
    expect(read.bytes.byteLength).toBe(4);
    expect(RTrace.refCountOf(changetype<usize>(read.bytes))).toBe(1);
  });

  it("gives empty bytes when the host returns nothing, without a block from malloc", () => {
    setBuffer(2, new ArrayBuffer(0));
    const read = getBufferBytes(2, 0, 4);
    expect(read.ok).toBe(true);
    expect(read.bytes.byteLength).toBe(0);
  });
});

describe("getLogLevel", () => {
  beforeEach(() => {
    resetHost();
  });

  it("is the level the host answers, off (6) included", () => {
    for (let level: u32 = 0; level <= 6; level++) {
      setHostLogLevel(level);
      expect(<u32>getLogLevel()).toBe(level);
    }
  });

  it("is trace when the host cannot tell, so that every line is built", () => {
    setHostLogLevel(3);
    failHostLogLevel(12); // Unimplemented
    expect(getLogLevel()).toBe(0);
  });
});
