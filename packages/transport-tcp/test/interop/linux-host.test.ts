/**
 * Interop with the Linux kernel's NVMe/TCP host (Debian 6.1, nvme-cli 2.3, fio) in a QEMU guest
 * (tools/interop), against the nvmu target served from this process on 127.0.0.1 (the guest
 * reaches it as 10.0.2.2). One guest runs the whole flow twice — without digests, then with
 * header and data digests (`-g -G`) — so the boot (8–20 s under TCG) is paid once.
 *
 * NVMU_SKIP_INTEROP=1 skips these tests (refused under CI=true); without QEMU they are skipped
 * too, except under CI=true.
 */
import { existsSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { guestScripts as g, interopSkipped, runGuest, type GuestResult } from '@nvmu/interop';

import { NQN, startTarget, type RealTarget } from '../helpers/target.js';

const haveQemu = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].some((p) => existsSync(p)) || process.env.NVMU_INTEROP_QEMU !== undefined;
// In CI (CI=true) a missing QEMU is a failure, never a silent skip.
const skip = interopSkipped() || (!haveQemu && process.env.CI !== 'true');

function report(r: GuestResult): string {
  return `target log (tail):\n${t?.log.slice(-80).join('\n') ?? ''}\nexit ${r.exitCode} (${r.error ?? 'ok'}), boot ${r.bootMs} ms, total ${r.durationMs} ms\n--- guest output ---\n${r.guestOutput}\n--- console (tail) ---\n${r.output.slice(-4000)}\n--- qemu stderr ---\n${r.qemuStderr}`;
}

let t: RealTarget | undefined;
beforeAll(async () => {
  if (skip) return;
  // 128 MiB malloc namespace; in-capsule 8 KiB; C2HData and R2T at their defaults (128 KiB).
  t = await startTarget('127.0.0.1', { blocks: 262144 });
});
afterAll(async () => {
  await t?.close();
});

describe.skipIf(skip)('Linux NVMe/TCP host → nvmu target', () => {
  it(
    'discovers, connects, identifies, passes dd and fio verify with and without digests, disconnects',
    async () => {
      const port = t!.port;
      const flow = (label: string, digests: boolean, sqflowOff = false): string =>
        [
          `echo "=== flow ${label} ==="\n`,
          sqflowOff
            ? // nvme-cli's --disable-sqflow: the target may then complete reads with SUCCESS-flagged
              // C2HData and no CapsuleResp (Linux 6.1 would complete a command twice otherwise).
              g.nvmeConnect({ addr: '10.0.2.2', port, nqn: NQN, nrIoQueues: 2 }).replace('nvme connect ', 'nvme connect --disable-sqflow ')
            : g.nvmeConnect({ addr: '10.0.2.2', port, nqn: NQN, hdrDigest: digests, dataDigest: digests, nrIoQueues: 2 }),
          'nvme list || nvmu_fail "nvme list"\n',
          'nvme id-ctrl "$dev" || nvmu_fail "id-ctrl"\n',
          'nvme id-ns "$dev" || nvmu_fail "id-ns"\n',
          // The controller's attributes as the kernel sees them.
          'c=$(basename "$(ls -d /sys/class/nvme/nvme* | head -1)"); ',
          'echo "transport=$(cat /sys/class/nvme/$c/transport) queue_count=$(cat /sys/class/nvme/$c/queue_count 2>/dev/null) sqsize=$(cat /sys/class/nvme/$c/sqsize 2>/dev/null)"\n',
          g.ddPatternCheck('"$dev"', 4),
          // 4 KiB random writes, verified; then 128 KiB sequential writes (R2T / several
          // C2HData PDUs per command), verified; each with several jobs on the I/O queues.
          g.fioVerify({ dev: '"$dev"', rw: 'randwrite', bs: '4k', size: '8M', runtimeS: 3, iodepth: 16 }),
          g.fioVerify({ dev: '"$dev"', rw: 'write', bs: '128k', size: '16M', runtimeS: 3, iodepth: 8 }),
          'fio --name=nvmu-seqread --filename="$dev" --ioengine=libaio --direct=1 --rw=read --bs=128k --size=16M --numjobs=2 --iodepth=4 --runtime=2 --group_reporting --eta=never || nvmu_fail "fio seq read"\n',
          g.nvmeDisconnect(NQN),
          `echo "=== flow ${label} done ==="\n`,
        ].join('');
      const script = [
        g.prelude(),
        // On failure, show what the kernel said about the controller too.
        'nvmu_fail() { echo "FAIL: $*"; dmesg | grep -i nvme | tail -40; exit 1; }\n',
        'nvme discover -t tcp -a 10.0.2.2 -s ' + String(port) + ' || nvmu_fail "nvme discover"\n',
        flow('plain', false),
        flow('digests', true),
        flow('sqflow-off', false, true),
        'echo ALL-DONE\n',
      ].join('');
      const before = t!.tcp.stats();
      const r = await runGuest({ script, timeoutMs: 400_000 });
      const after = t!.tcp.stats();
      console.log(`[interop] linux host → nvmu: boot ${r.bootMs} ms, total ${r.durationMs} ms (${r.accel})`);
      const out = r.guestOutput;
      expect(r.exitCode, report(r)).toBe(0);
      // nvme discover: our discovery log entry (TCP, IPv4, TREQ not specified).
      expect(out, report(r)).toContain(`subnqn:  ${NQN}`);
      expect(out).toMatch(/trtype:\s+tcp/);
      expect(out).toMatch(/adrfam:\s+ipv4/);
      expect(out).toMatch(new RegExp(`trsvcid:\\s+${port}`));
      expect(out).toMatch(/treq:\s+not specified/);
      // Both flows connected, identified, verified and disconnected.
      for (const label of ['plain', 'digests', 'sqflow-off']) {
        const part = out.slice(out.indexOf(`=== flow ${label} ===`), out.indexOf(`=== flow ${label} done ===`));
        expect(part, report(r)).toMatch(new RegExp(`^connected ${NQN.replace(/\./g, '\\.')}: /dev/nvme\\d+n\\d+$`, 'm'));
        expect(part).toMatch(/nvmu tcp test/); // nvme list: model
        expect(part).toMatch(/^mn\s+:\s+nvmu tcp test/m); // id-ctrl
        expect(part).toMatch(new RegExp(`^subnqn\\s+:\\s+${NQN.replace(/\./g, '\\.')}`, 'm'));
        expect(part).toMatch(/^nsze\s+:\s+0x40000/m); // id-ns: 262144 blocks
        expect(part).toMatch(/transport=tcp/);
        expect(part).toContain('dd pattern check passed');
        expect(part.match(/fio verify passed/g)?.length).toBe(2);
        expect(part).not.toMatch(/verify: bad|crc32c: verify failed/i);
        expect(part).toMatch(/err= 0/);
        expect(part).toMatch(/disconnected 1 controller/);
      }
      expect(out).toMatch(/^ALL-DONE$/m);
      // The target saw digests negotiated (the -g -G flow: admin + 2 I/O queues), sent R2Ts
      // and C2HData, and no protocol error.
      expect(after.hdgstConnections - before.hdgstConnections).toBeGreaterThanOrEqual(3);
      expect(after.ddgstConnections - before.ddgstConnections).toBeGreaterThanOrEqual(3);
      expect(after.r2ts).toBeGreaterThan(before.r2ts);
      expect(after.c2hData).toBeGreaterThan(before.c2hData);
      expect(after.termReqsSent).toBe(before.termReqsSent);
      // The --disable-sqflow flow completed reads through SUCCESS-flagged C2HData.
      expect(after.c2hSuccess).toBeGreaterThan(before.c2hSuccess);
      console.log(`[interop] target stats: ${JSON.stringify(after)}`);
    },
    420_000,
  );
});
