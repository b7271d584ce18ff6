/**
 * Interop the other way: @nvmu/client with this package's host transport against the Linux
 * kernel's nvmet-tcp target in a QEMU guest (tools/interop), reached through a hostfwd of
 * 127.0.0.1:<port> to the guest's 4420. Bring-up, identify, discovery, and data integrity over
 * in-capsule writes, R2T/H2CData and C2HData, without and with digests.
 *
 * NVMU_SKIP_INTEROP=1 skips these tests (refused under CI=true); without QEMU they are skipped
 * too, except under CI=true.
 */
import { existsSync } from 'node:fs';

import { afterAll, describe, expect, it } from 'vitest';

import { connect, discover } from '@nvmu/client';
import { guestScripts as g, interopSkipped, startGuest, type RunningGuest } from '@nvmu/interop';

import '../../src/host.js';
import { pattern } from '../helpers/raw.js';

const haveQemu = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].some((p) => existsSync(p)) || process.env.NVMU_INTEROP_QEMU !== undefined;
// In CI (CI=true) a missing QEMU is a failure, never a silent skip.
const skip = interopSkipped() || (!haveQemu && process.env.CI !== 'true');
const NQN = 'nqn.2026-11.io.nvmu:kernel-target';
const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:6c0a2f40-6d1a-4b4e-9e52-6f1f7c2d0a11';
const HOSTID = '6c0a2f40-6d1a-4b4e-9e52-6f1f7c2d0a11';

let guest: RunningGuest | undefined;
afterAll(async () => {
  await guest?.stop();
});

describe.skipIf(skip)('nvmu client → Linux nvmet-tcp target', () => {
  it(
    'connects, identifies, discovers, and keeps data intact with and without digests',
    async () => {
      guest = await startGuest({
        script: [g.prelude(), g.nvmetTcpTarget({ nqn: NQN, addr: '0.0.0.0', sizeMiB: 64, serial: 'nvmetserial' }), g.ready(), g.waitForHost(), 'echo BYE\n'].join(''),
        forwards: [{ hostPort: 0, guestPort: 4420 }],
        timeoutMs: 400_000,
      });
      await guest.waitFor(/^READY$/m, 200_000);
      const fwd = guest.forwards[0]!;
      const base = `trtype:tcp traddr:127.0.0.1 trsvcid:${fwd.hostPort} hostnqn:${HOSTNQN} hostid:${HOSTID}`;

      // Discovery through the kernel's discovery controller.
      const entries = await discover(base, { connectTimeoutMs: 30_000, adminTimeoutMs: 60_000 });
      const e = entries.find((x) => x.subnqn === NQN);
      expect(e, JSON.stringify(entries)).toBeDefined();
      expect(e!.trtype).toBe(3);
      expect(e!.trsvcid).toBe('4420');

      for (const extra of ['', ' hdgst:1 ddgst:1']) {
        const ctrl = await connect(`${base} subnqn:${NQN}${extra}`, {
          reconnect: false,
          connectTimeoutMs: 30_000,
          adminTimeoutMs: 60_000,
          ioTimeoutMs: 60_000,
          ioQueues: 2,
        });
        try {
          const id = await ctrl.identifyController();
          expect(id.subnqn).toBe(NQN);
          expect(id.sn).toBe('nvmetserial');
          expect(ctrl.namespaces.length).toBe(1);
          const ns = ctrl.namespaces[0]!;
          expect(ns.blockCount * ns.blockSize).toBe(64 * 1024 * 1024);
          let lba = 0;
          // In-capsule (nvmet's inline size), R2T/H2CData, several C2HData, large transfers.
          for (const size of [512, 4096, 8192, 16384, 65536, 131072, 262144]) {
            const data = pattern(size, size + extra.length);
            await ns.write(lba, data);
            const back = await ns.read(lba, size / ns.blockSize);
            expect(Buffer.from(back).equals(data), `size ${size}${extra}`).toBe(true);
            lba += size / ns.blockSize;
          }
          // Many commands at once on the I/O queue.
          await Promise.all(
            Array.from({ length: 32 }, async (_, i) => {
              const data = pattern(4096, 1000 + i);
              await ns.write(4096 + i * 8, data);
              expect(Buffer.from(await ns.read(4096 + i * 8, 8)).equals(data)).toBe(true);
            }),
          );
        } finally {
          await ctrl.close();
        }
      }
      guest.send('done\n');
      const r = await guest.result;
      console.log(`[interop] nvmu client → nvmet-tcp: boot ${r.bootMs} ms, total ${r.durationMs} ms (${r.accel})`);
      expect(r.guestOutput).toContain('BYE');
    },
    420_000,
  );
});
