/**
 * Namespace hot add and remove reaching the Linux kernel's NVMe/TCP host (Debian 6.1, nvme-cli
 * 2.3) in a QEMU guest (tools/interop): the daemon runs as a user runs it, the guest connects,
 * and a namespace added and then removed over JSON-RPC shows up in, then leaves, `nvme list`
 * without a reconnect (Namespace Attribute Changed AER, Changed Namespace List log).
 *
 * NVMU_SKIP_INTEROP=1 skips it; without QEMU it is skipped too, except under CI=true.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { guestScripts as g, startGuest } from '@nvmu/interop';

import { call, freePort, startDaemonProcess } from '../process.js';

const haveQemu = ['/usr/bin/qemu-system-x86_64', '/usr/local/bin/qemu-system-x86_64'].some((p) => existsSync(p)) || process.env.NVMU_INTEROP_QEMU !== undefined;
const skip = process.env.NVMU_SKIP_INTEROP === '1' || (!haveQemu && process.env.CI !== 'true');
const NQN = 'nqn.2026-01.io.nvmu:cnode1';
const dir = mkdtempSync(join(tmpdir(), 'nvmu-hotplug-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Guest shell: wait (at most 30 s) until subsystem NQN has `n` namespaces, then print them. */
const waitNamespaces = (n: number, label: string): string =>
  [
    'i=0',
    `while [ "$(ls -d /sys/class/nvme-subsystem/nvme-subsys*/nvme*n* 2>/dev/null | wc -l)" -ne ${n} ]; do`,
    `  i=$((i + 1)); [ "$i" -le 300 ] || nvmu_fail "${label}: not ${n} namespaces after 30 s"; sleep 0.1`,
    'done',
    `echo "${label}: $(ls -d /sys/class/nvme-subsystem/nvme-subsys*/nvme*n* | xargs -n1 basename | tr '\\n' ' ')"`,
    'nvme list',
    '',
  ].join('\n');

describe.skipIf(skip)('Linux NVMe/TCP host, namespaces added and removed over RPC while connected', () => {
  it(
    'the new namespace appears in nvme list without reconnecting, and goes when removed',
    async () => {
      const port = await freePort();
      const sock = join(dir, 'rpc.sock');
      const d = await startDaemonProcess(['--data-dir', join(dir, 'data'), '-r', sock, '--listen', `127.0.0.1:${port}`, '--size', '16M']);
      try {
        const script = [
          g.prelude(),
          g.nvmeConnect({ addr: '10.0.2.2', port, nqn: NQN, nrIoQueues: 1 }),
          waitNamespaces(1, 'before'),
          'c=$(basename "$(ls -d /sys/class/nvme/nvme* | head -1)")',
          'echo "controller $c cntlid=$(cat /sys/class/nvme/$c/cntlid)"',
          'echo READY-ADD; read -r line',
          waitNamespaces(2, 'added'),
          // The new namespace is usable at once: 4 KiB blocks, write and read back.
          'n2=$(ls -d /sys/class/nvme-subsystem/nvme-subsys*/nvme*n2 | head -1); n2=/dev/$(basename "$n2")',
          'echo "n2=$n2 lbs=$(cat /sys/block/$(basename $n2)/queue/logical_block_size)"',
          'dd if=/dev/urandom of=/tmp/pat bs=4096 count=4 2>/dev/null',
          'dd if=/tmp/pat of="$n2" bs=4096 count=4 oflag=direct 2>/dev/null || nvmu_fail "write n2"',
          'dd if="$n2" of=/tmp/back bs=4096 count=4 iflag=direct 2>/dev/null || nvmu_fail "read n2"',
          'cmp /tmp/pat /tmp/back && echo "n2 data ok" || nvmu_fail "n2 data differs"',
          'echo "same controller $(cat /sys/class/nvme/$c/cntlid)"',
          'echo READY-REMOVE; read -r line',
          waitNamespaces(1, 'removed'),
          g.nvmeDisconnect(NQN),
          'echo ALL-DONE',
          '',
        ].join('\n');
        const guest = await startGuest({ script, timeoutMs: 300_000 });
        try {
          await guest.waitFor(/^READY-ADD$/m);
          await call(sock, 'bdev_malloc_create', { name: 'Hot0', num_blocks: 8192, block_size: 4096 });
          expect(await call(sock, 'nvmf_subsystem_add_ns', { nqn: NQN, namespace: { bdev_name: 'Hot0', nsid: 2 } })).toBe(2);
          guest.send('go\n');
          await guest.waitFor(/^READY-REMOVE$/m);
          await call(sock, 'nvmf_subsystem_remove_ns', { nqn: NQN, nsid: 2 });
          guest.send('go\n');
          const r = await guest.result;
          const out = r.guestOutput;
          const report = `exit ${r.exitCode} (${r.error ?? 'ok'})\n--- guest ---\n${out}\n--- console (tail) ---\n${r.output.slice(-3000)}\n--- daemon log (tail) ---\n${d.stderr().slice(-3000)}`;
          expect(r.exitCode, report).toBe(0);
          expect(out, report).toMatch(/^before: nvme\d+n1 $/m);
          expect(out, report).toMatch(/^added: nvme\d+n1 nvme\d+n2 $/m);
          expect(out).toMatch(/^n2=\/dev\/nvme\d+n2 lbs=4096$/m);
          expect(out).toContain('n2 data ok');
          // No reconnect: the controller that saw the change is the one that connected.
          const cntlid = /^controller \S+ cntlid=(\d+)$/m.exec(out)?.[1];
          expect(out).toContain(`same controller ${cntlid ?? '?'}`);
          expect(out).toMatch(/^removed: nvme\d+n1 $/m);
          expect(out).toMatch(/^ALL-DONE$/m);
          expect(d.stderr()).toMatch(/"nsid":2,"bdev":"Hot0","controllers":1,"msg":"namespace added"/);
        } finally {
          await guest.stop();
        }
      } finally {
        await d.stop();
      }
    },
    360_000,
  );
});
