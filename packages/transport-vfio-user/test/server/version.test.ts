/** VERSION negotiation (vfio-user §VFIO_USER_VERSION) as QEMU's client does it. */
import { describe, expect, it } from 'vitest';

import { Command, Errno, HeaderFlags, encodeMessage, makeRequest } from '@nvmu/vfio-user-codec';

import { QEMU_CAPS } from './helpers.js';
import { harness } from './setup.js';

describe('VERSION', () => {
  it("answers QEMU's exact request with 0.0, the server's capabilities, within the request's size", async () => {
    const { client, dev } = await harness({ negotiate: false });
    const request = makeRequest(1, Command.VERSION, { kind: 'version', major: 0, minor: 0, data: { capabilities: QEMU_CAPS } });
    const requestSize = encodeMessage(request).length;
    const r = await client.request(Command.VERSION, request.body);
    expect(r.msg.flags).toBe(HeaderFlags.TYPE_REPLY);
    const body = r.msg.body;
    if (body.kind !== 'version') throw new Error('not a version reply');
    expect([body.major, body.minor]).toEqual([0, 0]);
    expect(body.data?.capabilities).toEqual({ max_msg_fds: 16, max_data_xfer_size: 1048576, pgsizes: 4096, max_dma_maps: 65535, write_multiple: true });
    // QEMU reads the reply into a buffer of its request's size.
    expect(encodeMessage(r.msg).length).toBeLessThanOrEqual(requestSize);
    expect(dev.log.attached).toBe(1);
  });

  it('drops capabilities until the reply fits a short request, down to none', async () => {
    const { client } = await harness({ negotiate: false });
    const r = await client.request(Command.VERSION, { kind: 'version', major: 0, minor: 0, data: null });
    const body = r.msg.body;
    if (body.kind !== 'version') throw new Error('not a version reply');
    expect(body.data).toBeNull();
    expect(encodeMessage(r.msg).length).toBe(20);
    // The device works after it.
    const info = await client.request(Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 });
    expect(info.msg.body).toMatchObject({ numRegions: 9, numIrqs: 5 });
  });

  it('a request with a little JSON gets the capabilities that fit', async () => {
    const { client } = await harness({ negotiate: false });
    const caps = { max_msg_fds: 1, pad: 'x'.repeat(40) };
    const request = makeRequest(1, Command.VERSION, { kind: 'version', major: 0, minor: 0, data: { capabilities: caps } });
    const r = await client.request(Command.VERSION, request.body);
    expect(encodeMessage(r.msg).length).toBeLessThanOrEqual(encodeMessage(request).length);
    const body = r.msg.body;
    if (body.kind !== 'version') throw new Error('not a version reply');
    // Only what the client proposed (vfio-user §VFIO_USER_VERSION: a subset), with the server's values.
    expect(body.data?.capabilities).toEqual({ max_msg_fds: 16 });
  });

  it('refuses major 1, a client without 4 KiB pages, commands before VERSION and a second VERSION', async () => {
    const { client } = await harness({ negotiate: false });
    expect(await client.expectError(Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 })).toBe(Errno.EINVAL);
    expect(await client.expectError(Command.VERSION, { kind: 'version', major: 1, minor: 0, data: null })).toBe(Errno.ENOTSUP);
    expect(await client.expectError(Command.VERSION, { kind: 'version', major: 0, minor: 0, data: { capabilities: { pgsizes: 8192 } } })).toBe(Errno.EINVAL);
    await client.negotiate();
    expect(await client.expectError(Command.VERSION, { kind: 'version', major: 0, minor: 0, data: null })).toBe(Errno.EINVAL);
  });

  it('answers a newer minor with minor 0', async () => {
    const { client } = await harness({ negotiate: false });
    const r = await client.request(Command.VERSION, { kind: 'version', major: 0, minor: 7, data: { capabilities: QEMU_CAPS } });
    expect(r.msg.body).toMatchObject({ kind: 'version', major: 0, minor: 0 });
  });
});
