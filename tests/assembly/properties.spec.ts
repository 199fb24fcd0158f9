import * as line from "../../assembly/kit/logline";
import { appendMetadataValue } from "../../assembly/kit/metadata";
import { decodePairs, isPairs } from "../../assembly/kit/properties";
import { bytesOf, logLines, pairsOf, resetHost } from "./mock";

export { malloc } from "@solo-io/proxy-runtime/malloc";

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

function pairs(blob: ArrayBuffer): bool {
  return isPairs(changetype<usize>(blob), blob.byteLength);
}

describe("isPairs", () => {
  it("holds for every pairs blob, the empty map included", () => {
    expect(pairs(location())).toBe(true);
    expect(pairs(pairsOf([], []))).toBe(true);
  });

  it("fails where decodePairs fails", () => {
    expect(pairs(bytesOf("aws"))).toBe(false);
    expect(pairs(bytesOf("ap-northeast-1a"))).toBe(false);
    expect(pairs(location().slice(0, 57))).toBe(false);
    const unterminated = location();
    store<u8>(changetype<usize>(unterminated) + 20 + 14, 0x21);
    expect(pairs(unterminated)).toBe(false);
    const longer = new ArrayBuffer(61);
    memory.copy(changetype<usize>(longer), changetype<usize>(location()), 58);
    expect(pairs(longer)).toBe(false);
    const far = location();
    store<u32>(changetype<usize>(far) + 4, 0xffffffff);
    expect(pairs(far)).toBe(false);
  });
});

/** A metadata value as the plugin writes it into a log line. */
function shown(value: ArrayBuffer, budget: usize = 256): string {
  resetHost();
  line.begin();
  appendMetadataValue(value, budget);
  line.send(2);
  return logLines()[0].slice(2);
}

describe("appendMetadataValue", () => {
  it("shows a string as its escaped bytes", () => {
    expect(shown(bytesOf("ap-northeast-1a"))).toBe("ap-northeast-1a");
    expect(shown(bytesOf("a\nb"))).toBe("a\\nb");
  });

  it("shows nested maps and lists compactly, in encoded order", () => {
    const list = pairsOf([bytesOf("x"), bytesOf("y")], [new ArrayBuffer(0), new ArrayBuffer(0)]);
    const nested = pairsOf([bytesOf("b"), bytesOf("a"), bytesOf("l")], [bytesOf("2"), bytesOf("1"), list]);
    expect(shown(nested)).toBe("{b: 2, a: 1, l: {x, y}}");
  });

  it("shows a number (8 bytes of a double) as escaped bytes", () => {
    const number = new ArrayBuffer(8);
    store<f64>(changetype<usize>(number), 1.0);
    expect(shown(number)).toBe("\\x00\\x00\\x00\\x00\\x00\\x00\\xf0?");
  });

  it("shows a value that starts like a map but is none as its escaped bytes", () => {
    const almost = pairsOf([bytesOf("k")], [bytesOf("v")]);
    store<u8>(changetype<usize>(almost) + 13, 0x21); // the NUL after "k"
    expect(shown(almost)).toBe("\\x01\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x01\\x00\\x00\\x00k!v\\x00");
  });

  it("shows at most a budget of bytes of a string, and how many were left out", () => {
    expect(shown(bytesOf("ap-northeast-1a"), 15)).toBe("ap-northeast-1a");
    expect(shown(bytesOf("ap-northeast-1a"), 5)).toBe("ap-no ... (+10 bytes)");
    expect(shown(bytesOf("\n\n\n"), 1)).toBe("\\n ... (+2 bytes)");
  });

  it("shares the budget among the strings of a nested value, and counts every byte left out", () => {
    const list = pairsOf([bytesOf("x"), bytesOf("yy")], [new ArrayBuffer(0), new ArrayBuffer(0)]);
    const nested = pairsOf([bytesOf("b"), bytesOf("a"), bytesOf("l")], [bytesOf("22"), bytesOf("1"), list]);
    // b 22 a 1 l x yy: 9 bytes of strings
    expect(shown(nested, 9)).toBe("{b: 22, a: 1, l: {x, yy}}");
    expect(shown(nested, 8)).toBe("{b: 22, a: 1, l: {x, y ... (+1 bytes)");
    expect(shown(nested, 6)).toBe("{b: 22, a: 1, l: { ... (+3 bytes)");
    expect(shown(nested, 2)).toBe("{b: 2 ... (+7 bytes)");
    expect(shown(nested, 1)).toBe("{b ... (+8 bytes)");
  });
});

