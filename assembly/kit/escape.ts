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

const ONES: u64 = 0x0101010101010101;
const HIGH_BITS: u64 = 0x8080808080808080;

/**
 * Whether all 8 bytes of `word` are printable ASCII other than `\`: bytes that are their own
 * escape. Bit tricks on the whole word (a byte below 0x20, a byte from 0x7f up, a backslash) may
 * flag a word that is plain, never the reverse.
 */
// @ts-ignore: decorator
@inline
function isPlainWord(word: u64): bool {
  const control = (word - ONES * 0x20) & ~word & HIGH_BITS;
  const high = ((word + ONES) | word) & HIGH_BITS;
  const backslashes = word ^ (ONES * BACKSLASH);
  const backslash = (backslashes - ONES) & ~backslashes & HIGH_BITS;
  return (control | high | backslash) == 0;
}

/** Writes the escape of one byte at `out` (T as for escapeTo); returns the address after it. */
// @ts-ignore: decorator
@inline
function escapeByteTo<T>(out: usize, byte: u8): usize {
  const step = sizeof<T>();
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
  return out + <usize>width * step;
}

/**
 * Writes the escapes of `size` bytes at `data` to `out`: printable ASCII (0x20..0x7e) as is,
 * except `\` which becomes `\\`; CR, LF and TAB as `\r`, `\n`, `\t`; every other byte as `\xNN` in
 * lowercase hex. T is the character: u8 for a log line's bytes, u16 for a string's code units.
 * Returns the address after the last character. Into bytes, eight plain bytes in a row are copied
 * as one word: payloads are mostly text.
 */
export function escapeTo<T>(out: usize, data: usize, size: usize): usize {
  let i: usize = 0;
  if (sizeof<T>() == 1) {
    for (; i + 8 <= size; i += 8) {
      const word = load<u64>(data + i);
      if (isPlainWord(word)) {
        store<u64>(out, word);
        out += 8;
        continue;
      }
      for (let j: usize = 0; j < 8; j++) out = escapeByteTo<T>(out, load<u8>(data + i + j));
    }
  }
  for (; i < size; i++) out = escapeByteTo<T>(out, load<u8>(data + i));
  return out;
}

/** The `index`-th character (0 to width - 1) of the escape of `byte`. */
function escapedCharacter(byte: u8, index: i32): u8 {
  const width = escapedWidth(byte);
  if (width == 1) return byte;
  if (index == 0) return BACKSLASH;
  if (width == 2) return byte == BACKSLASH ? 0x5c : byte == CARRIAGE_RETURN ? 0x72 : byte == LINE_FEED ? 0x6e : 0x74;
  if (index == 1) return 0x78; // x
  return hexDigit(index == 2 ? byte >> 4 : byte & 0x0f);
}

/**
 * The order of two byte strings by their escapes (as escapeTo writes them), character by
 * character, a prefix first: negative, 0 or positive. It allocates nothing, whatever the lengths.
 */
export function compareEscaped(a: usize, aSize: usize, b: usize, bSize: usize): i32 {
  let i: usize = 0;
  let j: usize = 0;
  let k = 0; // the character of a's current byte's escape
  let l = 0; // and of b's
  while (i < aSize && j < bSize) {
    const byteA = load<u8>(a + i);
    const byteB = load<u8>(b + j);
    const difference = <i32>escapedCharacter(byteA, k) - <i32>escapedCharacter(byteB, l);
    if (difference != 0) return difference;
    if (++k == escapedWidth(byteA)) {
      i++;
      k = 0;
    }
    if (++l == escapedWidth(byteB)) {
      j++;
      l = 0;
    }
  }
  return (i < aSize ? 1 : 0) - (j < bSize ? 1 : 0);
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
