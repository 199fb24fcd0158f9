import { escapeBytes } from "../../assembly/kit/escape";
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
