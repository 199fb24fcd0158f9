// Byte buffers as network data: joined, never mutated in place; and module bytes as the host
// reads them: as text only where they are UTF-8, never with a replacing decoder where Envoy keeps
// the bytes (property paths, log messages).

export { concatBytes, EMPTY_BYTES } from "../buffer.ts";

/** Parts joined into one buffer (a WASI write's iovecs); a single part as it is. */
export function joinBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

const decoder = new TextDecoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** Module bytes as text for people to read: UTF-8, an invalid sequence replaced with U+FFFD. */
export function decodeText(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Module bytes as text when they are UTF-8; null when they are not, so that nothing is replaced. */
export function decodeUtf8(bytes: Uint8Array): string | null {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return null;
  }
}

/** One character per byte: a string that keeps every byte, to key a map by bytes. */
export function byteString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("latin1");
}
