// Raw bytes made safe for a single log line (payload previews, property values). Bytes are
// escaped one by one and never decoded as UTF-8, so no byte can end the line or reach a terminal
// as a control sequence.

const BACKSLASH: u8 = 0x5c;
const CARRIAGE_RETURN: u8 = 0x0d;
const LINE_FEED: u8 = 0x0a;
const TAB: u8 = 0x09;

/** The most characters one byte escapes to (`\xNN`). */
export const MAX_ESCAPED_WIDTH = 4;

// Printable bytes are tested first: payloads are mostly text. Inlined even when the build
// optimises for size: it runs for every byte of every preview.
// @ts-ignore: decorator
@inline
function escapedWidth(byte: u8): i32 {
  if (byte >= 0x20 && byte <= 0x7e) return byte == BACKSLASH ? 2 : 1;
  if (byte == CARRIAGE_RETURN || byte == LINE_FEED || byte == TAB) return 2;
  return 4; // \xNN
}

function hexDigit(nibble: u8): u8 {
  return nibble < 10 ? 0x30 + nibble : 0x57 + nibble; // 0-9, a-f
}

/**
 * Writes the escapes of `size` bytes at `data` to `out`: printable ASCII (0x20..0x7e) as is,
 * except `\` which becomes `\\`; CR, LF and TAB as `\r`, `\n`, `\t`; every other byte as `\xNN` in
 * lowercase hex. T is the character: u8 for a log line's bytes, u16 for a string's code units.
 * Returns the address after the last character.
 */
export function escapeTo<T>(out: usize, data: usize, size: usize): usize {
  const step = sizeof<T>();
  for (let i: usize = 0; i < size; i++) {
    const byte = load<u8>(data + i);
    const width = escapedWidth(byte);
    if (width == 1) {
      store<T>(out, byte);
    } else if (width == 2) {
      const letter: u8 = byte == BACKSLASH ? 0x5c : byte == CARRIAGE_RETURN ? 0x72 : byte == LINE_FEED ? 0x6e : 0x74;
      store<T>(out, BACKSLASH);
      store<T>(out + step, letter);
    } else {
      store<T>(out, BACKSLASH);
      store<T>(out + step, 0x78); // x
      store<T>(out + 2 * step, hexDigit(byte >> 4));
      store<T>(out + 3 * step, hexDigit(byte & 0x0f));
    }
    out += <usize>width * step;
  }
  return out;
}

/** `bytes` escaped as escapeTo describes, as a string. */
export function escapeBytes(bytes: ArrayBuffer): string {
  const input = changetype<usize>(bytes);
  const length = <usize>bytes.byteLength;
  let width: usize = 0;
  for (let i: usize = 0; i < length; i++) width += escapedWidth(load<u8>(input + i));
  // Written in place: one allocation of the exact size, whatever the bytes look like.
  const output = __new(width << 1, idof<String>());
  escapeTo<u16>(output, input, length);
  return changetype<string>(output);
}
