/**
 * UUIDv7 (RFC 9562): time-ordered ids for checks.
 *
 * @module
 */

/** A UUIDv7 for the given Unix time in milliseconds. */
export function uuidV7(unixMs: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let ms = Math.floor(unixMs);
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = (bytes[6]! & 0x0f) | 0x70; // version 7
  bytes[8] = (bytes[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
    hex.slice(20)
  }`;
}
