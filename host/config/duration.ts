// google.protobuf.Duration in its proto3 JSON form: seconds with up to nine fractional digits
// and a mandatory "s" ("0.25s"). Envoy refuses other spellings such as "250ms".

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** The duration in nanoseconds, or undefined when the text is not a valid JSON Duration. */
export function parseDurationNanos(text: string): bigint | undefined {
  const match = DURATION.exec(text);
  if (!match) return undefined;
  const [, minus, seconds, fraction = ""] = match;
  const nanos = BigInt(seconds!) * 1_000_000_000n + BigInt(fraction.padEnd(9, "0"));
  return minus ? -nanos : nanos;
}

/** Milliseconds of a duration that already passed validation. */
export function durationMs(text: string): number {
  const nanos = parseDurationNanos(text);
  if (nanos === undefined) throw new Error(`not a Duration: ${text}`);
  return Number(nanos) / 1e6;
}
