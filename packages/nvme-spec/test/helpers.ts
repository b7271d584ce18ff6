/** Build a byte array from [offset, bytes[]] pairs, rest zero — keeps vectors readable. */
export function bytesAt(size: number, parts: readonly (readonly [number, readonly number[]])[]): Uint8Array {
  const b = new Uint8Array(size);
  for (const [off, bytes] of parts) b.set(bytes, off);
  return b;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
