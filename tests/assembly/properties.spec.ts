import { decodePairs } from "../../assembly/properties";
import { formatMetadataValue } from "../../assembly/metadata";
import { bytesOf, pairsOf } from "./mock";

function text(bytes: ArrayBuffer): string {
  return String.UTF8.decode(bytes);
}

// {cloud_provider: aws, az: ap-northeast-1a}: 4 + 2 * 8 + 15 + 4 + 3 + 16 = 58 bytes
function location(): ArrayBuffer {
  return pairsOf([bytesOf("cloud_provider"), bytesOf("az")], [bytesOf("aws"), bytesOf("ap-northeast-1a")]);
}

describe("decodePairs", () => {
  it("decodes entries in their encoded order", () => {
    const blob = location();
    expect(blob.byteLength).toBe(58);
    const decoded = decodePairs(blob);
    expect(decoded.error).toBe("");
    expect(decoded.pairs.length).toBe(2);
    expect(text(decoded.pairs[0].key)).toBe("cloud_provider");
    expect(text(decoded.pairs[0].value)).toBe("aws");
    expect(text(decoded.pairs[1].key)).toBe("az");
    expect(text(decoded.pairs[1].value)).toBe("ap-northeast-1a");
  });

  it("decodes an empty map", () => {
    const decoded = decodePairs(pairsOf([], []));
    expect(decoded.error).toBe("");
    expect(decoded.pairs.length).toBe(0);
  });

  it("refuses a blob too short for its entry count", () => {
    expect(decodePairs(new ArrayBuffer(2)).error).toBe("2 bytes, too short for an entry count");
  });

  it("refuses an entry count the blob cannot hold", () => {
    const blob = new ArrayBuffer(12);
    store<u32>(changetype<usize>(blob), 1000);
    expect(decodePairs(blob).error).toBe("1000 entries do not fit in 12 bytes");
  });

  it("refuses a truncated blob", () => {
    expect(decodePairs(location().slice(0, 57)).error).toBe("entry 1 runs past the end of 57 bytes");
  });

  it("refuses lengths that point far past the end without overflowing", () => {
    const blob = location();
    store<u32>(changetype<usize>(blob) + 4, 0xffffffff);
    expect(decodePairs(blob).error).toBe("entry 0 runs past the end of 58 bytes");
  });

  it("refuses a missing NUL terminator", () => {
    const blob = location();
    store<u8>(changetype<usize>(blob) + 20 + 14, 0x21); // the byte after "cloud_provider"
    expect(decodePairs(blob).error).toBe("entry 0 is not NUL-terminated");
  });

  it("refuses trailing bytes", () => {
    const blob = location();
    const longer = new ArrayBuffer(61);
    memory.copy(changetype<usize>(longer), changetype<usize>(blob), 58);
    expect(decodePairs(longer).error).toBe("3 trailing bytes");
  });
});

describe("formatMetadataValue", () => {
  it("shows a string as its escaped bytes", () => {
    expect(formatMetadataValue(bytesOf("ap-northeast-1a"))).toBe("ap-northeast-1a");
    expect(formatMetadataValue(bytesOf("a\nb"))).toBe("a\\nb");
  });

  it("shows nested maps and lists compactly, in encoded order", () => {
    const list = pairsOf([bytesOf("x"), bytesOf("y")], [new ArrayBuffer(0), new ArrayBuffer(0)]);
    const nested = pairsOf([bytesOf("b"), bytesOf("a"), bytesOf("l")], [bytesOf("2"), bytesOf("1"), list]);
    expect(formatMetadataValue(nested)).toBe("{b: 2, a: 1, l: {x, y}}");
  });

  it("shows a number (8 bytes of a double) as escaped bytes", () => {
    const number = new ArrayBuffer(8);
    store<f64>(changetype<usize>(number), 1.0);
    expect(formatMetadataValue(number)).toBe("\\x00\\x00\\x00\\x00\\x00\\x00\\xf0?");
  });
});
