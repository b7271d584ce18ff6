/** Bytes from hex text: whitespace and `#` comments (to the end of the line) are ignored. */
export function hex(text: string): Buffer {
  const digits = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad hex: ${digits}`);
  return Buffer.from(digits, 'hex');
}

export function u8(...bytes: number[]): Uint8Array {
  return new Uint8Array(bytes);
}
