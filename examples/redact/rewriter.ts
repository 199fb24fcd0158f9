// Replaces every `find` in a stream of chunks with `replaceWith`, a match split over two chunks
// included: the bytes at the end of a chunk that could begin a match are kept back (the tail)
// and looked at again in front of the next chunk. Matches are taken left to right and do not
// overlap, as String.prototype.replaceAll takes them.

const NO_BYTES = new ArrayBuffer(0);

/** What compareAt finds at a position. */
enum Match { None, Whole, CutShort }

export class Rewriter {
  private find: ArrayBuffer;
  private replaceWith: ArrayBuffer;
  /** the end of the last chunk that may begin a match: shorter than `find` */
  private tail: ArrayBuffer = NO_BYTES;
  /** matches replaced by the last rewrite() */
  replaced: u32 = 0;

  constructor(find: ArrayBuffer, replaceWith: ArrayBuffer) {
    this.find = find;
    this.replaceWith = replaceWith;
  }

  /** Bytes kept back, waiting for the next chunk. */
  get held(): i32 {
    return this.tail.byteLength;
  }

  /**
   * The bytes to pass on for `chunk`: the tail kept from before and the chunk, rewritten, without
   * the new tail, which is kept. At the end of the stream (`last`) nothing is kept: the tail is
   * passed on as it is, as it can no longer become a match.
   */
  rewrite(chunk: ArrayBuffer, last: bool): ArrayBuffer {
    const data = joined(this.tail, chunk);
    const base = changetype<usize>(data);
    const size = data.byteLength;
    const findSize = this.find.byteLength;
    // First pass: count the matches and find where the tail begins, to size the output once.
    let matches = 0;
    let tailStart = size;
    for (let i = 0; i < size;) {
      const found = compareAt(base, i, size, this.find);
      if (found == Match.Whole) {
        matches++;
        i += findSize;
      } else if (found == Match.CutShort && !last) {
        tailStart = i;
        break;
      } else {
        i++;
      }
    }
    this.replaced = matches;
    this.tail = data.slice(tailStart);
    if (matches == 0) {
      // (Not `cond ? data : data.slice(...)`: AssemblyScript 0.17 can free `data` under that, docs/toolchain.md.)
      if (tailStart == size) return data;
      return data.slice(0, tailStart);
    }
    // Second pass: copy, with replaceWith in place of each match.
    const replacementSize = this.replaceWith.byteLength;
    const out = new ArrayBuffer(tailStart - matches * findSize + matches * replacementSize);
    let to = changetype<usize>(out);
    let copiedFrom = 0;
    for (let i = 0; i < tailStart;) {
      if (compareAt(base, i, size, this.find) != Match.Whole) {
        i++;
        continue;
      }
      memory.copy(to, base + copiedFrom, i - copiedFrom);
      to += i - copiedFrom;
      memory.copy(to, changetype<usize>(this.replaceWith), replacementSize);
      to += replacementSize;
      i += findSize;
      copiedFrom = i;
    }
    memory.copy(to, base + copiedFrom, tailStart - copiedFrom);
    return out;
  }
}

/**
 * Whether `find` is at `at` in the `size` bytes at `base`: whole, cut short by the end of the
 * bytes (what is there is its beginning), or not.
 */
function compareAt(base: usize, at: i32, size: i32, find: ArrayBuffer): Match {
  const findBase = changetype<usize>(find);
  const findSize = find.byteLength;
  const available = min(findSize, size - at);
  for (let i = 0; i < available; i++) {
    if (load<u8>(base + at + i) != load<u8>(findBase + i)) return Match.None;
  }
  return available == findSize ? Match.Whole : Match.CutShort;
}

/** `a` then `b`, copied only when both hold bytes. */
function joined(a: ArrayBuffer, b: ArrayBuffer): ArrayBuffer {
  if (a.byteLength == 0) return b;
  if (b.byteLength == 0) return a;
  const out = new ArrayBuffer(a.byteLength + b.byteLength);
  memory.copy(changetype<usize>(out), changetype<usize>(a), a.byteLength);
  memory.copy(changetype<usize>(out) + a.byteLength, changetype<usize>(b), b.byteLength);
  return out;
}
