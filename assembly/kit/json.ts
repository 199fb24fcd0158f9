// A strict JSON reader for plugin configurations: one object whose members are kept with their
// kind, written by hand (AssemblyScript 0.17 has no usable JSON library). There are no
// exceptions: the first error sets `error` and stops.

function isDigit(byte: i32): bool {
  return byte >= 0x30 && byte <= 0x39;
}

function hexValue(byte: i32): i32 {
  if (isDigit(byte)) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}

/** The kind of a JSON value. */
export enum JsonKind { String, Number, True, False, Null, Array, Object }

/** A value of `kind` as an error names it: `a string`, `null`. */
function kindName(kind: JsonKind): string {
  switch (kind) {
    case JsonKind.String: return "a string";
    case JsonKind.Number: return "a number";
    case JsonKind.True: return "true";
    case JsonKind.False: return "false";
    case JsonKind.Null: return "null";
    case JsonKind.Array: return "an array";
    default: return "an object";
  }
}

/** Arrays and objects nest at most this deep inside the configuration object. */
const MAX_DEPTH = 16;

/** A JSON value: its kind, and its text for a string or a number. */
export class JsonValue {
  kind: JsonKind;
  /** the decoded string, or the number's text; empty for the other kinds */
  text: string;
  /** an array's items; empty for the other kinds (an object's members are checked, not kept) */
  items: JsonValue[];

  constructor(kind: JsonKind, text: string, items: JsonValue[]) {
    this.kind = kind;
    this.text = text;
    this.items = items;
  }

  /** A plain integer literal (digits only, no sign, fraction or exponent) that fits in a u64, or -1. */
  unsignedInteger(): i64 {
    if (this.kind != JsonKind.Number) return -1;
    const text = this.text;
    if (text.length == 0 || text.length > 20) return -1;
    let value: u64 = 0;
    for (let i = 0; i < text.length; i++) {
      const digit = <u64>(text.charCodeAt(i) - 0x30);
      if (digit > 9) return -1;
      if (value > (u64.MAX_VALUE - digit) / 10) return -1;
      value = value * 10 + digit;
    }
    // i64 keeps -1 free for "not one": values past i64.MAX_VALUE are refused too.
    return value <= <u64>i64.MAX_VALUE ? <i64>value : -1;
  }
}

/** A key of a JSON object and its value. */
export class JsonMember {
  key: string;
  value: JsonValue;

  constructor(key: string, value: JsonValue) {
    this.key = key;
    this.value = value;
  }
}

const NO_ITEMS: JsonValue[] = [];

/** The members of one JSON object, or why the text is not one. */
export class JsonObjectReader {
  private base: usize;
  private size: i32;
  private position: i32 = 0;
  /** whether member values may be arrays and objects; if not, one is malformed JSON */
  private nested: bool;
  private depth: i32 = 0;
  /** empty while there is no error */
  error: string = "";
  members: JsonMember[] = [];

  constructor(data: ArrayBuffer, nested: bool) {
    this.base = changetype<usize>(data);
    this.size = data.byteLength;
    this.nested = nested;
  }

  /** the byte at the position, -1 at the end */
  private peek(): i32 {
    return this.position < this.size ? <i32>load<u8>(this.base + this.position) : -1;
  }

  private fail(): bool {
    if (this.error.length == 0) this.error = "malformed JSON at byte " + this.position.toString();
    return false;
  }

  private expect(byte: i32): bool {
    if (this.peek() != byte) return this.fail();
    this.position++;
    return true;
  }

  private skipWhitespace(): void {
    let byte = this.peek();
    while (byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d) {
      this.position++;
      byte = this.peek();
    }
  }

  /** The whole input: one object, whitespace around it. */
  readDocument(): bool {
    this.skipWhitespace();
    if (this.peek() != 0x7b) return this.readOtherDocument(); // {
    if (!this.readObject(this.members)) return false;
    this.skipWhitespace();
    if (this.position != this.size) return this.fail();
    return true;
  }

  /**
   * A document that does not start with an object: read whole, so that the error says whether it
   * is malformed JSON or valid JSON of another kind (`null`, `[]`, `42`). Always false.
   */
  private readOtherDocument(): bool {
    // Only its kind is reported: an array may hold anything, nested or not.
    this.nested = true;
    const value = this.readValue();
    if (value === null) return false;
    this.skipWhitespace();
    if (this.position != this.size) return this.fail();
    this.error = "configuration must be a JSON object, got " + kindName(value.kind);
    return false;
  }

  /** Reads an object at the position into `members`. */
  private readObject(members: JsonMember[]): bool {
    if (!this.expect(0x7b)) return false; // {
    this.skipWhitespace();
    if (this.peek() == 0x7d) { // }
      this.position++;
      return true;
    }
    while (true) {
      this.skipWhitespace();
      if (this.peek() != 0x22) return this.fail();
      const key = this.readString();
      if (key === null) return false;
      this.skipWhitespace();
      if (!this.expect(0x3a)) return false; // :
      this.skipWhitespace();
      const value = this.readValue();
      if (value === null) return false;
      members.push(new JsonMember(key, value));
      this.skipWhitespace();
      if (this.peek() == 0x2c) { // ,
        this.position++;
        continue;
      }
      return this.expect(0x7d);
    }
  }

  private readValue(): JsonValue | null {
    const byte = this.peek();
    if (byte == 0x22) {
      const text = this.readString();
      if (text === null) return null;
      return new JsonValue(JsonKind.String, text, NO_ITEMS);
    }
    if (byte == 0x2d || isDigit(byte)) {
      const start = this.position;
      if (!this.readNumber()) return null;
      return new JsonValue(JsonKind.Number, String.UTF8.decodeUnsafe(this.base + start, this.position - start), NO_ITEMS);
    }
    if ((byte == 0x5b || byte == 0x7b) && this.nested) return this.readNested(byte == 0x5b);
    if (this.readLiteral("true")) return new JsonValue(JsonKind.True, "", NO_ITEMS);
    if (this.readLiteral("false")) return new JsonValue(JsonKind.False, "", NO_ITEMS);
    if (this.readLiteral("null")) return new JsonValue(JsonKind.Null, "", NO_ITEMS);
    this.fail();
    return null;
  }

  /** An array, or an object whose members are checked and dropped. */
  private readNested(isArray: bool): JsonValue | null {
    if (this.depth == MAX_DEPTH) {
      this.error = "JSON nested deeper than " + MAX_DEPTH.toString() + " levels at byte " + this.position.toString();
      return null;
    }
    this.depth++;
    let value: JsonValue | null = null;
    if (isArray) value = this.readArray();
    else if (this.readObject([])) value = new JsonValue(JsonKind.Object, "", NO_ITEMS);
    this.depth--;
    return value;
  }

  private readArray(): JsonValue | null {
    this.position++; // [
    const items: JsonValue[] = [];
    this.skipWhitespace();
    if (this.peek() == 0x5d) { // ]
      this.position++;
      return new JsonValue(JsonKind.Array, "", items);
    }
    // AssemblyScript 0.17's push grows an array by one element, moving it whenever the allocator
    // cannot extend it in place: quadratic in the items. The room is doubled instead (a larger
    // length reserves it, zeroed), items are set by index, and the length is cut to the count.
    let count = 0;
    while (true) {
      this.skipWhitespace();
      const item = this.readValue();
      if (item === null) return null;
      if (count == items.length) items.length = count < 4 ? 4 : count << 1;
      items[count++] = item;
      this.skipWhitespace();
      if (this.peek() == 0x2c) { // ,
        this.position++;
        continue;
      }
      if (!this.expect(0x5d)) return null;
      items.length = count;
      return new JsonValue(JsonKind.Array, "", items);
    }
  }

  private readLiteral(word: string): bool {
    const length = word.length;
    if (this.position + length > this.size) return false;
    for (let i = 0; i < length; i++) {
      if (<i32>load<u8>(this.base + this.position + i) != word.charCodeAt(i)) return false;
    }
    this.position += length;
    return true;
  }

  private readDigits(): bool {
    if (!isDigit(this.peek())) return this.fail();
    while (isDigit(this.peek())) this.position++;
    return true;
  }

  /** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
  private readNumber(): bool {
    if (this.peek() == 0x2d) this.position++;
    if (this.peek() == 0x30) {
      this.position++;
    } else if (!this.readDigits()) {
      return false;
    }
    if (this.peek() == 0x2e) {
      this.position++;
      if (!this.readDigits()) return false;
    }
    const exponent = this.peek();
    if (exponent == 0x65 || exponent == 0x45) {
      this.position++;
      const sign = this.peek();
      if (sign == 0x2b || sign == 0x2d) this.position++;
      if (!this.readDigits()) return false;
    }
    return true;
  }

  /** Reads a string at the position (on its opening quote) and returns it decoded, or null. */
  private readString(): string | null {
    this.position++; // "
    let text = "";
    let runStart = this.position;
    while (true) {
      const byte = this.peek();
      if (byte < 0x20) { // the end, or a raw control character
        this.fail();
        return null;
      }
      if (byte == 0x22) break;
      if (byte != 0x5c) {
        this.position++;
        continue;
      }
      text += String.UTF8.decodeUnsafe(this.base + runStart, this.position - runStart);
      this.position++; // backslash
      const escaped = this.readEscape();
      if (escaped < 0) {
        this.fail();
        return null;
      }
      text += String.fromCharCode(escaped);
      runStart = this.position;
    }
    const run = String.UTF8.decodeUnsafe(this.base + runStart, this.position - runStart);
    this.position++; // "
    // Without escapes the string is the run alone: no copy joining it to "".
    if (text.length == 0) return run;
    return text + run;
  }

  /** The UTF-16 code unit of the escape after a backslash, -1 if it is not one. */
  private readEscape(): i32 {
    const byte = this.peek();
    this.position++;
    switch (byte) {
      case 0x22: return 0x22;
      case 0x5c: return 0x5c;
      case 0x2f: return 0x2f;
      case 0x62: return 0x08;
      case 0x66: return 0x0c;
      case 0x6e: return 0x0a;
      case 0x72: return 0x0d;
      case 0x74: return 0x09;
      case 0x75: break; // u
      default:
        this.position--;
        return -1;
    }
    let unit = 0;
    for (let i = 0; i < 4; i++) {
      const digit = hexValue(this.peek());
      if (digit < 0) return -1;
      unit = (unit << 4) | digit;
      this.position++;
    }
    return unit;
  }
}
