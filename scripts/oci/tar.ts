// A tar archive of one regular file, every header field fixed (owner 0, mode 0644, mtime 0), so
// that the same bytes always give the same archive. POSIX ustar, readable by GNU tar and Go's
// archive/tar (which Istio's agent uses to unpack a Wasm image's layer).

const BLOCK = 512;
/** The header before the file's bytes: what a reader takes in before it reaches the content. */
export const TAR_HEADER_BYTES = BLOCK;

/** `name` (at most 100 bytes of ASCII) holding `content`, then the end-of-archive marker. */
export function tarOneFile(name: string, content: Uint8Array): Buffer {
  if (!/^[\x21-\x7e]{1,100}$/.test(name)) throw new Error(`tar: '${name}' is not a short ASCII file name`);
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, "ascii");
  writeOctal(header, 100, 8, 0o644); // mode
  writeOctal(header, 108, 8, 0); // uid
  writeOctal(header, 116, 8, 0); // gid
  writeOctal(header, 124, 12, content.length); // size
  writeOctal(header, 136, 12, 0); // mtime: the epoch, so that a rebuild gives the same bytes
  header.write("0", 156, "ascii"); // typeflag: regular file
  header.write("ustar\u000000", 257, "ascii"); // magic "ustar\0", version "00"
  // The checksum is computed with its own field as eight spaces, then written as six octal
  // digits, a NUL and a space.
  header.fill(0x20, 148, 156);
  const checksum = header.reduce((sum, byte) => sum + byte, 0);
  header.write(checksum.toString(8).padStart(6, "0") + "\u0000 ", 148, "ascii");
  const padding = (BLOCK - (content.length % BLOCK)) % BLOCK;
  return Buffer.concat([header, content, Buffer.alloc(padding), Buffer.alloc(2 * BLOCK)]);
}

/** A NUL-terminated octal number filling `width` bytes. */
function writeOctal(header: Buffer, offset: number, width: number, value: number): void {
  header.write(value.toString(8).padStart(width - 1, "0") + "\u0000", offset, "ascii");
}
