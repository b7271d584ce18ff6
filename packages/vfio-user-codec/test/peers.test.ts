/**
 * Requests exactly as other implementations put them on the wire, where they differ from the
 * minimal structure the spec describes. Each byte string is built the way the peer's C code
 * builds it (the source is named), and must decode to the body the server acts on.
 */
import { describe, expect, it } from 'vitest';
import { Command, HeaderFlags, VfioUserFramer, VfioUserProtocolError, decodeMessage } from '../src/index.js';

function request(command: number, body: Buffer, msgId = 7): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt16LE(msgId, 0);
  header.writeUInt16LE(command, 2);
  header.writeUInt32LE(16 + body.length, 4);
  header.writeUInt32LE(HeaderFlags.TYPE_COMMAND, 8);
  return Buffer.concat([header, body]);
}

describe("SPDK's vfio-user host (lib/vfio_user/host)", () => {
  // vfio_device_map_bars_and_config_region(): a 4096-byte calloc'd buffer, info->index = i, then
  // vfio_user_get_dev_region_info() sets argsz = 4096 - sizeof(struct vfio_region_info) and sends
  // argsz bytes of the buffer: the 32-byte structure followed by 4032 zero bytes.
  it('DEVICE_GET_REGION_INFO with the whole argsz-sized buffer as payload', () => {
    const payload = Buffer.alloc(4096 - 32);
    payload.writeUInt32LE(4096 - 32, 0); // argsz
    payload.writeUInt32LE(2, 8); // index: BAR2
    const bytes = request(Command.DEVICE_GET_REGION_INFO, payload);
    const msg = decodeMessage(bytes, 0, bytes.length);
    expect(msg.body).toEqual({ kind: 'region-info-request', argsz: 4064, flags: 0, index: 2, capOffset: 0, size: 0n, offset: 0n });
    // The framer takes it too, and the message ends where the size field says.
    const framed = new VfioUserFramer().push(Buffer.concat([bytes, bytes]));
    expect(framed.map((m) => m.msgId)).toEqual([7, 7]);
  });

  it('a DEVICE_GET_REGION_INFO payload shorter than the structure is still refused', () => {
    const bytes = request(Command.DEVICE_GET_REGION_INFO, Buffer.alloc(24));
    expect(() => decodeMessage(bytes, 0, bytes.length)).toThrow(VfioUserProtocolError);
  });

  // vfio_user_get_dev_info() sends sizeof(struct vfio_user_device_info); a longer buffer (as a
  // newer struct would make) is taken the same way.
  it('DEVICE_GET_INFO with a payload longer than the structure', () => {
    const payload = Buffer.alloc(64);
    payload.writeUInt32LE(64, 0);
    const bytes = request(Command.DEVICE_GET_INFO, payload);
    expect(decodeMessage(bytes, 0, bytes.length).body).toEqual({ kind: 'device-info', argsz: 64, flags: 0, numRegions: 0, numIrqs: 0 });
  });
});
