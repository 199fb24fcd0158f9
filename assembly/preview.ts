// Payload previews: raw bytes made safe for a single log line. Bytes are escaped one by one and
// never decoded as UTF-8, so no byte can end the line or reach a terminal as a control sequence.

const BACKSLASH: u8 = 0x5c;
const CARRIAGE_RETURN: u8 = 0x0d;
const LINE_FEED: u8 = 0x0a;
const TAB: u8 = 0x09;

function escapedWidth(byte: u8): i32 {
  if (byte == BACKSLASH || byte == CARRIAGE_RETURN || byte == LINE_FEED || byte == TAB) return 2;
  if (byte >= 0x20 && byte <= 0x7e) return 1;
  return 4; // \xNN
}

function hexDigit(nibble: u8): u16 {
  return nibble < 10 ? <u16>(0x30 + nibble) : <u16>(0x57 + nibble); // 0-9, a-f
}

/**
 * Escapes every byte of `bytes`: printable ASCII (0x20..0x7e) as is, except `\` which becomes
 * `\\`; CR, LF and TAB as `\r`, `\n`, `\t`; every other byte as `\xNN` in lowercase hex.
 */
export function escapeBytes(bytes: ArrayBuffer): string {
  const input = changetype<usize>(bytes);
  const length = bytes.byteLength;
  let width = 0;
  for (let i = 0; i < length; i++) width += escapedWidth(load<u8>(input + i));

  // Written in place: one allocation of the exact size, whatever the payload looks like.
  const output = __new(<usize>width << 1, idof<String>());
  let at = output;
  for (let i = 0; i < length; i++) {
    const byte = load<u8>(input + i);
    const size = escapedWidth(byte);
    if (size == 1) {
      store<u16>(at, byte);
    } else if (size == 2) {
      store<u16>(at, BACKSLASH);
      const letter: u16 = byte == BACKSLASH ? 0x5c : byte == CARRIAGE_RETURN ? 0x72 : byte == LINE_FEED ? 0x6e : 0x74;
      store<u16>(at, letter, 2);
    } else {
      store<u16>(at, BACKSLASH);
      store<u16>(at, 0x78, 2); // x
      store<u16>(at, hexDigit(byte >> 4), 4);
      store<u16>(at, hexDigit(byte & 0x0f), 6);
    }
    at += <usize>size << 1;
  }
  return changetype<string>(output);
}

/**
 * The preview of a chunk of `totalSize` bytes of which `shown` holds the first ones: the escaped
 * bytes, and ` ... (+N bytes)` when N bytes of the chunk were left out.
 */
export function escapePayload(shown: ArrayBuffer, totalSize: usize): string {
  const preview = escapeBytes(shown);
  const shownSize = <usize>shown.byteLength;
  if (totalSize <= shownSize) return preview;
  return preview + " ... (+" + (totalSize - shownSize).toString() + " bytes)";
}
