import { compareEscaped, escapeBytes } from "../../assembly/kit/escape";
import * as line from "../../assembly/kit/logline";
import { bytesOf } from "./mock";

describe("escapeBytes", () => {
  it("keeps printable ASCII as it is", () => {
    expect(escapeBytes(bytesOf("GET / HTTP/1.1 ~{}"))).toBe("GET / HTTP/1.1 ~{}");
  });

  it("escapes CR, LF, TAB and the backslash", () => {
    expect(escapeBytes(bytesOf("a\r\nb\tc\\d"))).toBe("a\\r\\nb\\tc\\\\d");
  });

  it("writes ESC, NUL, DEL and other control bytes in lowercase hex", () => {
    expect(escapeBytes(bytesOf("\x1b[31mred\x00\x7f\x0b"))).toBe("\\x1b[31mred\\x00\\x7f\\x0b");
  });

  it("escapes invalid UTF-8 byte by byte and keeps what follows", () => {
    expect(escapeBytes(bytesOf("hi\xff\xfe!"))).toBe("hi\\xff\\xfe!");
  });

  it("escapes the bytes of valid UTF-8 too: bytes, never text", () => {
    expect(escapeBytes(String.UTF8.encode("é"))).toBe("\\xc3\\xa9");
  });

  it("makes an HTTP request readable on one line", () => {
    const request = "POST / HTTP/1.1\r\nHost: localhost:18000\r\n\r\n[initial body]";
    expect(escapeBytes(bytesOf(request))).toBe("POST / HTTP/1.1\\r\\nHost: localhost:18000\\r\\n\\r\\n[initial body]");
  });

  it("gives an empty string for no bytes", () => {
    expect(escapeBytes(new ArrayBuffer(0))).toBe("");
  });
});

/** `bytes` escaped into a log line's bytes (escapeTo<u8>, eight plain bytes at a time). */
function escapedIntoLine(bytes: ArrayBuffer): string {
  line.begin();
  line.escaped(bytes);
  return String.UTF8.decode(line.since(0));
}

describe("escapeTo into bytes", () => {
  it("escapes every byte value at every place in a word as escapeBytes does, byte by byte", () => {
    for (let byte = 0; byte < 256; byte++) {
      for (let at = 0; at < 19; at++) {
        const bytes = new ArrayBuffer(19);
        memory.fill(changetype<usize>(bytes), 0x61, 19);
        store<u8>(changetype<usize>(bytes) + at, <u8>byte);
        const escaped = escapedIntoLine(bytes);
        const expected = escapeBytes(bytes);
        // The message is built for a mismatch only: built 4,864 times, it cost 8 s of as-pect's debug build.
        if (escaped != expected) expect(escaped).toBe(expected, "byte " + byte.toString() + " at " + at.toString());
      }
    }
  });

  it("copies long plain runs whole and escapes what breaks them", () => {
    expect(escapedIntoLine(bytesOf("0123456789abcdef~ !\"#$%&'()*+,-./"))).toBe("0123456789abcdef~ !\"#$%&'()*+,-./");
    expect(escapedIntoLine(bytesOf("abcdefg\\hijklmno\x7fpqrstuv\x1fw"))).toBe("abcdefg\\\\hijklmno\\x7fpqrstuv\\x1fw");
  });
});

/** The sign of compareEscaped(a, b). */
function order(a: string, b: string): i32 {
  const x = bytesOf(a);
  const y = bytesOf(b);
  const compared = compareEscaped(changetype<usize>(x), x.byteLength, changetype<usize>(y), y.byteLength);
  return compared < 0 ? -1 : compared > 0 ? 1 : 0;
}

describe("compareEscaped", () => {
  it("orders bytes as their escapes read, character by character", () => {
    expect(order("a", "b")).toBe(-1);
    expect(order("b", "a")).toBe(1);
    expect(order("az", "az")).toBe(0);
    expect(order("\x01", "a")).toBe(-1); // `\x01` starts with `\`, before `a`
    expect(order("~", "\xc3")).toBe(1); // `\xc3` starts with `\`, before `~`
    expect(order("\n", "\\")).toBe(1); // `\n` against `\\`: n after \
    expect(order("\x0a", "\x0b")).toBe(-1); // `\n` against `\x0b`: n before x
  });

  it("puts a prefix first", () => {
    expect(order("ab", "abc")).toBe(-1);
    expect(order("abc", "ab")).toBe(1);
    expect(order("", "a")).toBe(-1);
    expect(order("", "")).toBe(0);
  });
});
