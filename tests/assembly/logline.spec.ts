import * as line from "../../assembly/kit/logline";
import { bytesOf, logLines, resetHost } from "./mock";

describe("log lines", () => {
  beforeEach(() => {
    resetHost();
  });

  it("joins text, numbers and escaped bytes into one line at its level", () => {
    line.begin();
    line.text("connection ");
    line.decimal(2);
    line.text(": data: ");
    line.escaped(bytesOf("a\r\n\x1b"));
    line.send(3);
    expect(logLines()).toStrictEqual(["3 connection 2: data: a\\r\\n\\x1b"]);
  });

  it("writes numbers from 0 to the largest u64", () => {
    line.begin();
    line.decimal(0);
    line.text(" ");
    line.decimal(10);
    line.text(" ");
    line.decimal(u64.MAX_VALUE);
    line.send(2);
    expect(logLines()[0]).toBe("2 0 10 18446744073709551615");
  });

  it("writes text as UTF-8", () => {
    line.begin();
    line.text("é€😀");
    line.send(2);
    expect(logLines()[0]).toBe("2 é€😀");
  });

  it("starts every line empty", () => {
    line.begin();
    line.text("first");
    line.send(2);
    line.begin();
    line.text("second");
    line.send(2);
    expect(logLines()).toStrictEqual(["2 first", "2 second"]);
  });

  it("grows for a line longer than its buffer and keeps what it holds", () => {
    const payload = new ArrayBuffer(1000); // 1000 NULs: 4000 characters escaped
    line.begin();
    line.text("head ");
    line.escaped(payload);
    line.text(" tail");
    line.send(2);
    expect(logLines()[0]).toBe("2 head " + "\\x00".repeat(1000) + " tail");
  });

  it("writes ASCII four characters at a time, and encodes from the first other character on", () => {
    line.begin();
    line.text("abcdefgh");
    line.text("abc");
    line.text("abcdé€ ok");
    line.text("😀abcd");
    line.send(2);
    expect(logLines()[0]).toBe("2 abcdefghabcabcdé€ ok😀abcd");
  });

  it("appends bytes as they are", () => {
    line.begin();
    line.bytes(bytesOf("0123456789"));
    line.bytes(bytesOf("abc"));
    line.send(2);
    expect(logLines()[0]).toBe("2 0123456789abc");
  });

  it("shows at most a budget of bytes, and how many were left out", () => {
    line.begin();
    line.preview(bytesOf("abc"), 3);
    line.text("|");
    line.preview(bytesOf("abcd\n"), 4);
    line.text("|");
    line.preview(bytesOf("\x01\x02"), 1);
    line.send(2);
    expect(logLines()[0]).toBe("2 abc|abcd ... (+1 bytes)|\\x01 ... (+1 bytes)");
  });

  it("quotes a preview, the note of what was left out after the closing quote", () => {
    line.begin();
    line.preview(bytesOf("a\"b"), 3, "\"");
    line.text("|");
    line.preview(bytesOf("abcd"), 2, "\"");
    line.send(2);
    expect(logLines()[0]).toBe("2 \"a\"b\"|\"ab\" ... (+2 bytes)");
  });

  it("gives a preview as a string, leaving the line in progress as it was", () => {
    line.begin();
    line.text("connection 7: ");
    expect(line.previewText(bytesOf("x\ty\x7f"), 2, "\"")).toBe("\"x\\t\" ... (+2 bytes)");
    expect(line.previewText(String.UTF8.encode("é"), 256)).toBe("\\xc3\\xa9");
    // longer than the buffer: it grows, and keeps the line
    expect(line.previewText(bytesOf("z".repeat(5000)), 4096).length).toBe(4096 + " ... (+904 bytes)".length);
    line.text("end");
    line.send(2);
    expect(logLines()[0]).toBe("2 connection 7: end");
  });

  it("gives back what was appended since a mark", () => {
    line.begin();
    line.text("connection 7: ");
    const start = line.mark();
    line.text("tail");
    expect(String.UTF8.decode(line.since(start))).toBe("tail");
    expect(String.UTF8.decode(line.since(0))).toBe("connection 7: tail");
  });
});

