/**
 * Every kind of message, malformed, gets its error reply, and the next good request still works
 * (vfio-user §Header: errors are replies, the connection goes on). Fds that come with a refused
 * message are closed.
 */
import { describe, expect, it } from 'vitest';

import { closeFd, eventfdCreate } from '@nvmu/native';
import { Command, Errno, HeaderFlags, IrqSetFlags, encodeMessage, makeRequest, type MessageBody } from '@nvmu/vfio-user-codec';

import type { TestClient } from './helpers.js';
import { ourFds, until } from './helpers.js';
import { harness } from './setup.js';

/** The bytes of a request with its body cut or padded to `bodyLength`, the header's size fixed to match. */
function resized(command: number, body: MessageBody, bodyLength: number, msgId = 0x77): Buffer {
  const full = encodeMessage(makeRequest(msgId, command, body));
  const out = Buffer.alloc(16 + bodyLength);
  full.copy(out, 0, 0, Math.min(full.length, out.length));
  out.writeUInt32LE(out.length, 4);
  return out;
}

async function rawError(client: TestClient, bytes: Buffer, fds: number[] = []): Promise<number> {
  client.sendRaw(bytes, fds);
  const r = await client.next();
  expect(r.msg.msgId).toBe(bytes.readUInt16LE(0));
  expect(r.msg.flags & HeaderFlags.ERROR).toBe(HeaderFlags.ERROR);
  return r.msg.errno;
}

async function stillServes(client: TestClient): Promise<void> {
  const r = await client.request(Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 });
  expect(r.msg.body).toMatchObject({ kind: 'device-info', numRegions: 9 });
}

const cases: { name: string; command: number; body: MessageBody; length: number; errno?: number }[] = [
  { name: 'DMA_MAP short', command: Command.DMA_MAP, body: { kind: 'dma-map', flags: 3, offset: 0n, address: 0x1000n, size: 0x1000n }, length: 20 },
  { name: 'DMA_MAP long', command: Command.DMA_MAP, body: { kind: 'dma-map', flags: 3, offset: 0n, address: 0x1000n, size: 0x1000n }, length: 40 },
  { name: 'DMA_UNMAP short', command: Command.DMA_UNMAP, body: { kind: 'dma-unmap', argsz: 24, flags: 0, address: 0n, size: 0x1000n, bitmap: null }, length: 12 },
  { name: 'DEVICE_GET_INFO short', command: Command.DEVICE_GET_INFO, body: { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 }, length: 4 },
  { name: 'DEVICE_GET_INFO argsz 8', command: Command.DEVICE_GET_INFO, body: { kind: 'device-info', argsz: 8, flags: 0, numRegions: 0, numIrqs: 0 }, length: 16 },
  { name: 'REGION_INFO argsz 16', command: Command.DEVICE_GET_REGION_INFO, body: { kind: 'region-info-request', argsz: 16, flags: 0, index: 0, capOffset: 0, size: 0n, offset: 0n }, length: 32 },
  { name: 'REGION_INFO short', command: Command.DEVICE_GET_REGION_INFO, body: { kind: 'region-info-request', argsz: 32, flags: 0, index: 0, capOffset: 0, size: 0n, offset: 0n }, length: 8 },
  { name: 'REGION_IO_FDS short', command: Command.DEVICE_GET_REGION_IO_FDS, body: { kind: 'region-io-fds-request', argsz: 16, flags: 0, index: 0, count: 0 }, length: 8 },
  { name: 'IRQ_INFO short', command: Command.DEVICE_GET_IRQ_INFO, body: { kind: 'irq-info', argsz: 16, flags: 0, index: 2, count: 0 }, length: 8 },
  { name: 'SET_IRQS short', command: Command.DEVICE_SET_IRQS, body: { kind: 'set-irqs', flags: IrqSetFlags.DATA_NONE | IrqSetFlags.ACTION_TRIGGER, index: 2, start: 0, count: 1, data: null }, length: 12 },
  { name: 'SET_IRQS two data types', command: Command.DEVICE_SET_IRQS, body: { kind: 'set-irqs', flags: IrqSetFlags.DATA_NONE | IrqSetFlags.DATA_EVENTFD | IrqSetFlags.ACTION_TRIGGER, index: 2, start: 0, count: 1, data: null }, length: 20 },
  { name: 'SET_IRQS bools missing', command: Command.DEVICE_SET_IRQS, body: { kind: 'set-irqs', flags: IrqSetFlags.DATA_BOOL | IrqSetFlags.ACTION_TRIGGER, index: 2, start: 0, count: 2, data: new Uint8Array([1, 1]) }, length: 21 },
  { name: 'REGION_READ short', command: Command.REGION_READ, body: { kind: 'region-access', offset: 0n, region: 0, count: 4 }, length: 12 },
  { name: 'REGION_WRITE data shorter than count', command: Command.REGION_WRITE, body: { kind: 'region-data', offset: 0n, region: 0, data: new Uint8Array(8) }, length: 20 },
  { name: 'REGION_WRITE short', command: Command.REGION_WRITE, body: { kind: 'region-data', offset: 0n, region: 0, data: new Uint8Array(4) }, length: 10 },
  { name: 'REGION_WRITE_MULTI cut entry', command: Command.REGION_WRITE_MULTI, body: { kind: 'region-write-multi', writes: [{ offset: 0n, region: 0, count: 4, data: new Uint8Array(8) }] }, length: 8 + 20 },
  { name: 'DEVICE_RESET with a body', command: Command.DEVICE_RESET, body: { kind: 'empty' }, length: 4 },
  { name: 'DEVICE_FEATURE', command: Command.DEVICE_FEATURE, body: { kind: 'device-feature', argsz: 16, flags: (1 << 16) | 1, data: { kind: 'none' } }, length: 8, errno: Errno.ENOTSUP },
  { name: 'MIG_DATA_READ', command: Command.MIG_DATA_READ, body: { kind: 'mig-data-read', argsz: 8, size: 0 }, length: 8, errno: Errno.ENOTSUP },
  { name: 'DIRTY_PAGES (14)', command: 14, body: { kind: 'raw', data: new Uint8Array(8) }, length: 8, errno: Errno.ENOTSUP },
  { name: 'DMA_READ from the client', command: Command.DMA_READ, body: { kind: 'dma-access', address: 0n, count: 4n }, length: 16 },
  { name: 'unknown command 99', command: 99, body: { kind: 'raw', data: new Uint8Array(4) }, length: 4, errno: Errno.ENOSYS },
];

describe('malformed messages', () => {
  it.each(cases)('$name → its errno, and the next request works', async ({ command, body, length, errno }) => {
    const { client } = await harness();
    expect(await rawError(client, resized(command, body, length))).toBe(errno ?? Errno.EINVAL);
    await stillServes(client);
  });

  it('VERSION without its NUL, and VERSION JSON that is not an object, before negotiating', async () => {
    const { client } = await harness({ negotiate: false });
    const bad = Buffer.concat([Buffer.from([0, 0, 0, 0]), Buffer.from('{"capabilities":{}}')]);
    const msg = Buffer.alloc(16 + bad.length);
    msg.writeUInt16LE(5, 0);
    msg.writeUInt16LE(Command.VERSION, 2);
    msg.writeUInt32LE(msg.length, 4);
    bad.copy(msg, 16);
    expect(await rawError(client, msg)).toBe(Errno.EINVAL);
    const arr = Buffer.concat([msg.subarray(0, 20), Buffer.from('[1]\0')]);
    arr.writeUInt32LE(arr.length, 4);
    expect(await rawError(client, arr)).toBe(Errno.EINVAL);
    await client.negotiate();
    await stillServes(client);
  });

  it('a message type other than command or reply → EINVAL', async () => {
    const { client } = await harness();
    const msg = resized(Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 }, 16);
    msg.writeUInt32LE(3, 8);
    expect(await rawError(client, msg)).toBe(Errno.EINVAL);
    await stillServes(client);
  });

  it('a message above max_data_xfer_size → E2BIG; its body is skipped and the stream goes on', async () => {
    const { client } = await harness({ server: { maxDataXferSize: 4096 } });
    const big = resized(Command.REGION_WRITE, { kind: 'region-data', offset: 0n, region: 0, data: new Uint8Array(8192) }, 16 + 8192);
    expect(await rawError(client, big)).toBe(Errno.E2BIG);
    await stillServes(client);
    // A data count above the limit inside a message that fits the framing bound: E2BIG too.
    const over = resized(Command.REGION_WRITE, { kind: 'region-data', offset: 0n, region: 0, data: new Uint8Array(4096 + 32) }, 16 + 4096 + 32);
    expect(await rawError(client, over)).toBe(Errno.E2BIG);
    await stillServes(client);
  });

  it('fds with a message that takes none, or too many, are refused and closed', async () => {
    const { client, dev } = await harness();
    const efd = eventfdCreate(0);
    const before = ourFds();
    expect(await client.expectError(Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 }, [efd])).toBe(Errno.EINVAL);
    expect(await client.expectError(Command.DMA_MAP, { kind: 'dma-map', flags: 3, offset: 0n, address: 0x1000n, size: 0x1000n }, [efd, efd])).toBe(Errno.EINVAL);
    expect(
      await client.expectError(Command.DEVICE_SET_IRQS, { kind: 'set-irqs', flags: IrqSetFlags.DATA_NONE | IrqSetFlags.ACTION_TRIGGER, index: 2, start: 0, count: 1, data: null }, [efd]),
    ).toBe(Errno.EINVAL);
    expect(await client.expectError(Command.REGION_WRITE, { kind: 'region-data', offset: 0n, region: 0, data: new Uint8Array(4) }, [efd])).toBe(Errno.EINVAL);
    expect(dev.context.current!.dma.ranges()).toEqual([]);
    expect(ourFds()).toEqual(before);
    closeFd(efd);
    await stillServes(client);
  });

  it('a posted (NO_REPLY) message that fails gets no reply, only a log line', async () => {
    const { client, logs } = await harness();
    client.send(Command.REGION_WRITE, { kind: 'region-data', offset: 0n, region: 3, data: new Uint8Array(4) }, { noReply: true });
    await stillServes(client);
    expect(logs.some((l) => l.includes('posted message'))).toBe(true);
  });

  it('a size below the header ends the connection (nothing says where the next message starts); the next client is served', async () => {
    const { client, server } = await harness();
    const bad = Buffer.alloc(16);
    bad.writeUInt16LE(9, 0);
    bad.writeUInt16LE(Command.DEVICE_GET_INFO, 2);
    bad.writeUInt32LE(8, 4);
    client.sendRaw(bad);
    const r = await client.next();
    expect(r.msg.errno).toBe(Errno.EINVAL);
    await client.waitEof();
    await until(() => !server.connected);
    const { TestClient } = await import('./helpers.js');
    const second = TestClient.connect(server.socketPath!);
    await second.negotiate();
    await stillServes(second);
    second.close();
  });
});
