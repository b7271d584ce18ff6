import { describe, it, expect } from 'vitest';
import { Request } from '../src/request.js';
import type { QPair } from '../src/transport.js';

describe('Request', () => {
  const qp = {} as QPair;
  it('derives the data direction from the opcode and FCTYPE low bits', () => {
    const r = new Request(qp, 0, undefined);
    r.sqeBytes[0] = 0x02; // Read
    expect(r.xfer).toBe('controller-to-host');
    r.sqeBytes[0] = 0x01; // Write
    expect(r.xfer).toBe('host-to-controller');
    r.sqeBytes[0] = 0x00; // Flush
    expect(r.xfer).toBe('none');
    r.sqeBytes[0] = 0x7f; // Fabrics
    r.sqeBytes[4] = 0x01; // Connect
    expect(r.xfer).toBe('host-to-controller');
    r.sqeBytes[4] = 0x04; // Property Get
    expect(r.xfer).toBe('none');
  });
  it('reads CID little-endian and sets data', () => {
    const r = new Request(qp, 3, 'x');
    r.sqeBytes.writeUInt16LE(0xbeef, 2);
    expect(r.cid).toBe(0xbeef);
    r.setData(new Uint8Array(100));
    expect([r.iovcnt, r.length]).toEqual([1, 100]);
    r.clearData();
    expect([r.iovcnt, r.length]).toEqual([0, 0]);
    expect(r.index).toBe(3);
    expect(r.transportData).toBe('x');
  });
});
