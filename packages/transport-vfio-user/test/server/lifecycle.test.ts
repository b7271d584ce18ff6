/** One client at a time; a client that goes away (cleanly or killed); stale sockets; no fd leaks. */
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { closeFd, eventfdCreate, ftruncate, memfdCreate, socketpair, unixListen } from '@nvmu/native';
import { Command, DmaMapFlags, IrqSetFlags, PciIrq } from '@nvmu/vfio-user-codec';

import { VfioUserServer } from '../../src/server.js';
import { TestClient, fakeDevice, mappedMemfds, ourFds, tempDir, until } from './helpers.js';
import { harness } from './setup.js';

describe('clients', () => {
  it('refuses a second client while the first is connected, with a log line', async () => {
    const { client, server, logs } = await harness();
    const second = TestClient.connect(server.socketPath!);
    await second.waitEof();
    second.close();
    expect(logs.some((l) => l.includes('second vfio-user client was refused'))).toBe(true);
    const r = await client.request(Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 });
    expect(r.msg.body).toMatchObject({ numRegions: 9 });
  });

  it('a killed client: detached() runs first, then mappings and fds are released, and the next client connects', async () => {
    const dev = fakeDevice();
    const { dir, cleanup } = tempDir();
    const server = VfioUserServer.listen(dir, { device: dev.spec, hooks: dev.hooks, log: () => undefined });
    try {
      const baseline = ourFds();
      const client = TestClient.connect(server.socketPath!);
      await client.negotiate();
      const ram = memfdCreate('vfu-test-killed');
      ftruncate(ram, 0x4000);
      await client.request(Command.DMA_MAP, { kind: 'dma-map', flags: DmaMapFlags.READ | DmaMapFlags.WRITE, offset: 0n, address: 0x10000n, size: 0x4000n }, [ram]);
      closeFd(ram);
      await client.request(Command.DMA_MAP, { kind: 'dma-map', flags: DmaMapFlags.READ, offset: 0n, address: 0x80000n, size: 0x1000n });
      const efds = [eventfdCreate(0), eventfdCreate(0)];
      await client.request(Command.DEVICE_SET_IRQS, { kind: 'set-irqs', flags: IrqSetFlags.ACTION_TRIGGER | IrqSetFlags.DATA_EVENTFD, index: PciIrq.MSIX, start: 0, count: 2, data: null }, efds);
      for (const fd of efds) closeFd(fd);
      // MSI-X Enable (Message Control at 0x52, bit 15).
      await client.request(Command.REGION_WRITE, { kind: 'region-data', offset: 0x52n, region: 7, data: new Uint8Array([0x03, 0x80]) });
      expect(mappedMemfds('vfu-test-killed')).toHaveLength(1);

      // The device's teardown is slow: the mappings stay until it is done.
      let finish!: () => void;
      const seenAtDetach: number[] = [];
      dev.hooks.detached = () => {
        dev.log.detached++;
        seenAtDetach.push(server.context.dma.ranges().length, mappedMemfds('vfu-test-killed').length);
        return new Promise<void>((resolve) => {
          finish = resolve;
        });
      };
      // Killed: the socket closes with requests possibly in flight.
      client.send(Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 });
      client.close();
      await until(() => dev.log.detached === 1);
      expect(seenAtDetach).toEqual([2, 1]);
      expect(server.connected).toBe(true);
      // A client arriving while the device detaches is refused.
      const early = TestClient.connect(server.socketPath!);
      await early.waitEof();
      early.close();
      finish();
      await server.idle();
      expect(server.connected).toBe(false);
      expect(server.context.dma.ranges()).toEqual([]);
      expect(server.context.attached).toBe(false);
      // Device state stays (vfio-user §Client Disconnection); with no eventfd a trigger waits in the PBA.
      expect(server.context.msixEnabled).toBe(true);
      server.context.triggerIrq(0);
      expect(mappedMemfds('vfu-test-killed')).toEqual([]);
      expect(ourFds()).toEqual(baseline);

      const next = TestClient.connect(server.socketPath!);
      await next.negotiate();
      expect(dev.log.attached).toBe(2);
      next.close();
      await until(() => dev.log.detached === 2 || !server.connected);
      finish();
      await server.idle();
      expect(ourFds()).toEqual(baseline);
    } finally {
      await server.close();
      cleanup();
    }
  });

  it('a DMA_READ in flight when the client goes away rejects with ENOTCONN', async () => {
    const { client, dev, server } = await harness();
    await client.request(Command.DMA_MAP, { kind: 'dma-map', flags: DmaMapFlags.READ, offset: 0n, address: 0x1000n, size: 0x1000n });
    client.memory = undefined;
    const ctx = dev.context.current!;
    // Close the client before it can answer.
    const reading = ctx.dma.read(0x1000, new Uint8Array(16));
    client.close();
    await expect(reading).rejects.toMatchObject({ errno: 107 });
    await server.idle();
  });

  it('serves a socketpair end given to adopt()', async () => {
    const dev = fakeDevice();
    const server = new VfioUserServer({ device: dev.spec, hooks: dev.hooks, log: () => undefined });
    const [a, b] = socketpair();
    expect(server.adopt(a)).toBe(true);
    const client = new TestClient(b);
    await client.negotiate();
    const r = await client.request(Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 });
    expect(r.msg.body).toMatchObject({ numIrqs: 5 });
    client.close();
    await server.close();
    expect(dev.log.detached).toBe(1);
  });
});

describe('the socket', () => {
  it('is <dir>/cntrl with mode 0600, replaces a stale socket, refuses to take over a live one', async () => {
    const { dir, cleanup } = tempDir();
    try {
      // A socket left by a crashed server: bound, nobody listening any more.
      const stale = unixListen(join(dir, 'cntrl'));
      closeFd(stale);
      const dev = fakeDevice();
      const logs: string[] = [];
      const server = VfioUserServer.listen(dir, { device: dev.spec, log: (_level, m) => logs.push(m) });
      expect(server.socketPath).toBe(join(dir, 'cntrl'));
      expect(statSync(server.socketPath!).mode & 0o777).toBe(0o600);
      expect(() => VfioUserServer.listen(dir, { device: fakeDevice().spec, log: () => undefined })).toThrow(/already listening/);
      // The probe was a connection like any other: wait until the server has seen it go.
      await until(() => logs.includes('vfio-user client detached'));
      const client = TestClient.connect(server.socketPath!);
      await client.negotiate();
      client.close();
      await server.close();
      expect(() => statSync(join(dir, 'cntrl'))).toThrow();
      writeFileSync(join(dir, 'cntrl'), 'not a socket');
      expect(() => VfioUserServer.listen(dir, { device: fakeDevice().spec, log: () => undefined })).toThrow(/not a socket/);
    } finally {
      cleanup();
    }
  });
});
