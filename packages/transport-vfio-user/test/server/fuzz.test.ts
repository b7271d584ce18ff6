/**
 * Property: whatever bytes a client writes, the server neither throws nor stops serving: the next
 * client negotiates and gets answers, and no descriptor is left behind.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { Command, HEADER_SIZE } from '@nvmu/vfio-user-codec';

import { VfioUserServer } from '../../src/server.js';
import { TestClient, fakeDevice, ourFds, tempDir, turn, until } from './helpers.js';

/** A message with a consistent header (so the server reads its body) and random contents. */
const framed = fc
  .record({
    msgId: fc.integer({ min: 0, max: 0xffff }),
    command: fc.oneof(fc.integer({ min: 1, max: 18 }), fc.integer({ min: 0, max: 0xffff })),
    flags: fc.oneof(fc.constantFrom(0, 0x10, 1, 0x21), fc.integer({ min: 0, max: 0xffffffff })),
    body: fc.uint8Array({ maxLength: 96 }),
  })
  .map(({ msgId, command, flags, body }) => {
    const out = Buffer.alloc(HEADER_SIZE + body.length);
    out.writeUInt16LE(msgId, 0);
    out.writeUInt16LE(command, 2);
    out.writeUInt32LE(out.length, 4);
    out.writeUInt32LE(flags >>> 0, 8);
    out.set(body, HEADER_SIZE);
    return out;
  });

const chunks = fc.array(fc.oneof(framed, fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b))), { minLength: 1, maxLength: 12 });

describe('random bytes on the socket', () => {
  it('never crash the server nor leak descriptors', async () => {
    const dev = fakeDevice();
    const { dir, cleanup } = tempDir();
    const server = VfioUserServer.listen(dir, { device: dev.spec, hooks: dev.hooks, log: () => undefined });
    const baseline = ourFds();
    try {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), chunks, async (negotiateFirst, parts) => {
          const adopted = server.clientsAdopted;
          const client = TestClient.connect(server.socketPath!);
          // Wait for the server to take this client: a connection still in the listen backlog
          // when the probe below connects would be adopted first, and the probe refused.
          await until(() => server.clientsAdopted > adopted);
          if (negotiateFirst) await client.negotiate();
          for (const part of parts) {
            try {
              client.sendRaw(part);
            } catch {
              break; // the server closed the connection: fine
            }
            await turn();
          }
          client.close();
          await until(() => !server.connected);
          await server.idle();
          expect(server.context.dma.ranges()).toEqual([]);
          const probe = TestClient.connect(server.socketPath!);
          await probe.negotiate();
          const r = await probe.request(Command.DEVICE_GET_INFO, { kind: 'device-info', argsz: 16, flags: 0, numRegions: 0, numIrqs: 0 });
          expect(r.msg.body).toMatchObject({ numRegions: 9 });
          probe.close();
          await until(() => !server.connected);
          await server.idle();
          expect(ourFds()).toEqual(baseline);
        }),
        { numRuns: 60 },
      );
    } finally {
      await server.close();
      cleanup();
    }
  });
});
