/**
 * Boots real guests under QEMU (about 8–20 s each under TCG). Needs the Debian packages of
 * scripts/install-deps.sh; without them these tests fail with a message saying so.
 * NVMU_SKIP_INTEROP=1 skips them.
 */
import { connect, createServer, type AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { findKernel, interopSkipped } from '../src/host.js';
import { guestScripts as g } from '../src/scripts.js';
import { runGuest, startGuest, type GuestResult, type RunningGuest } from '../src/guest.js';

const skip = interopSkipped();
const TEST_TIMEOUT = 180_000;

/** Everything a failed assertion needs to be understood. */
function report(r: GuestResult): string {
  return `exit ${r.exitCode} (${r.error ?? 'ok'}), boot ${r.bootMs} ms, total ${r.durationMs} ms\n--- guest output ---\n${r.guestOutput}\n--- console (tail) ---\n${r.output.slice(-3000)}\n--- qemu stderr ---\n${r.qemuStderr}`;
}

function timing(name: string, r: GuestResult): void {
  console.log(`[interop] ${name}: boot ${r.bootMs} ms, total ${r.durationMs} ms (${r.accel})`);
}

describe.skipIf(skip)('guest under QEMU', () => {
  const running: RunningGuest[] = [];
  afterEach(async () => {
    // Never leave a QEMU behind, whatever the test did.
    await Promise.all(running.splice(0).map((x) => x.stop()));
  });

  it(
    'boots the host kernel with nvme-cli, fio and the NVMe/TCP modules',
    async () => {
      const kernel = findKernel();
      const r = await runGuest({ script: 'uname -r\nnvme version\nfio --version\nlsmod\n', timeoutMs: 150_000 });
      timing('boot', r);
      expect(r.exitCode, report(r)).toBe(0);
      const lines = r.guestOutput.split('\n');
      expect(lines[0], report(r)).toBe(kernel.version);
      expect(existsSync(`/boot/vmlinuz-${lines[0]}`)).toBe(true);
      expect(r.guestOutput).toMatch(/^nvme version \d+\.\d+/m);
      expect(r.guestOutput).toMatch(/^fio-\d+\.\d+/m);
      for (const m of ['nvme_tcp', 'nvmet_tcp', 'nvme_fabrics', 'nvmet']) {
        expect(r.guestOutput, `module ${m} not loaded\n${report(r)}`).toMatch(new RegExp(`^${m}\\s`, 'm'));
      }
      // The console carries the kernel and /init; the script's output stays out of it.
      expect(r.output).toContain('nvmu-init: running the guest script');
      expect(r.output).not.toContain('fio-');
    },
    TEST_TIMEOUT,
  );

  it(
    "connects the guest's NVMe/TCP host to its own nvmet-tcp target: discover, dd, fio verify",
    async () => {
      const nqn = 'nqn.2026-11.io.nvmu:interop-self';
      const script = [
        g.prelude(),
        g.nvmetTcpTarget({ nqn, addr: '10.0.2.15', sizeMiB: 64 }),
        g.kernelHostFlow({ addr: '10.0.2.15', port: 4420, nqn, ddMiB: 4, fio: { runtimeS: 2, size: '8M', bs: '4k', rw: 'randwrite' } }),
        '[ -z "$(nvmu_dev ' + `'${nqn}'` + ')" ] || nvmu_fail "still connected after disconnect"\n',
        'echo FLOW-DONE\n',
      ].join('');
      const r = await runGuest({ script, timeoutMs: 150_000 });
      timing('nvmet-tcp self-connect', r);
      expect(r.exitCode, report(r)).toBe(0);
      expect(r.guestOutput).toContain(`subnqn:  ${nqn}`);
      expect(r.guestOutput).toMatch(/^connected .*: \/dev\/nvme\d+n\d+$/m);
      expect(r.guestOutput).toMatch(/^\/dev\/nvme\d+n\d+ /m);
      expect(r.guestOutput).toContain('dd pattern check passed');
      expect(r.guestOutput).toMatch(/err= 0/);
      expect(r.guestOutput).toMatch(/issued rwts: total=[1-9]\d*,[1-9]/);
      expect(r.guestOutput).toContain('fio verify passed');
      expect(r.guestOutput).toMatch(/disconnected 1 controller/);
      expect(r.guestOutput).toMatch(/^HOST-FLOW-DONE$/m);
      expect(r.guestOutput).toMatch(/^FLOW-DONE$/m);
    },
    TEST_TIMEOUT,
  );

  it(
    'reaches the guest nvmet-tcp target from the host through hostfwd: ICReq → ICResp',
    async () => {
      const guest = await startGuest({
        script: [
          g.prelude(),
          g.nvmetTcpTarget({ nqn: 'nqn.2026-11.io.nvmu:interop-reverse', sizeMiB: 16 }),
          g.ready(),
          g.waitForHost(),
          'echo "host said: $nvmu_host_line"\n',
        ].join(''),
        forwards: [{ hostPort: 0, guestPort: 4420 }],
        timeoutMs: 150_000,
      });
      running.push(guest);
      await guest.waitFor(/^READY$/m);
      const fwd = guest.forwards[0]!;

      // ICReq (NVMe/TCP 1.0 §3.6.2.2): CH type 0, flags 0, HLEN 128, PDO 0, PLEN 128; PFV 0,
      // HPDA 0, DGST 0, MAXR2T 0; bytes 16..127 reserved.
      const icreq = Buffer.alloc(128);
      icreq[0] = 0x00;
      icreq[2] = 128;
      icreq.writeUInt32LE(128, 4);
      const icresp = await new Promise<Buffer>((resolve, reject) => {
        const sock = connect(fwd.hostPort, fwd.hostAddr);
        const parts: Buffer[] = [];
        let got = 0;
        const timer = setTimeout(() => {
          sock.destroy();
          reject(new Error(`no ICResp after 30 s (${got} bytes)`));
        }, 30_000);
        sock.on('connect', () => sock.write(icreq));
        sock.on('data', (d: Buffer) => {
          parts.push(d);
          got += d.length;
          if (got >= 128) {
            clearTimeout(timer);
            sock.destroy();
            resolve(Buffer.concat(parts));
          }
        });
        sock.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
        sock.on('close', () => {
          clearTimeout(timer);
          if (got < 128) reject(new Error(`connection closed after ${got} bytes of ICResp`));
        });
      });
      // ICResp (§3.6.2.3): type 1, HLEN 128, PLEN 128, PFV 0, CPDA 0, DGST 0, MAXH2CDATA >= 4096.
      expect(icresp.length).toBe(128);
      expect(icresp[0]).toBe(0x01);
      expect(icresp[2]).toBe(128);
      expect(icresp.readUInt32LE(4)).toBe(128);
      expect(icresp.readUInt16LE(8)).toBe(0);
      expect(icresp[10]).toBe(0);
      expect(icresp[11]).toBe(0);
      expect(icresp.readUInt32LE(12)).toBeGreaterThanOrEqual(4096);

      guest.send('done\n');
      const r = await guest.result;
      timing('hostfwd ICReq', r);
      expect(r.exitCode, report(r)).toBe(0);
      expect(r.guestOutput).toMatch(/^host said: done$/m);
    },
    TEST_TIMEOUT,
  );

  it(
    "reaches the host's 127.0.0.1 as 10.0.2.2 from the guest; stop() ends the guest and its QEMU",
    async () => {
      // The nvmu-target-vs-kernel-host direction: a host server on 127.0.0.1, the guest dials 10.0.2.2.
      const server = createServer((sock) => {
        sock.once('data', (d: Buffer) => {
          sock.end(`pong ${d.toString().trim()}\n`);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as AddressInfo).port;
      try {
        const guest = await startGuest({
          script: 'echo ping-from-guest | nc 10.0.2.2 "$HOST_PORT" || echo "nc failed: $?"\necho sleeping\nsleep 600\n',
          env: { HOST_PORT: String(port) },
          timeoutMs: 150_000,
        });
        running.push(guest);
        await guest.waitFor(/^sleeping$/m);
        expect(guest.guestOutput()).toMatch(/^pong ping-from-guest$/m);
        const r = await guest.stop();
        expect(r.stopped, report(r)).toBe(true);
        expect(r.exitCode).toBeNull();
        expect(r.error).toMatch(/stopped/);
        expect(() => process.kill(guest.pid, 0)).toThrow(/ESRCH/);
      } finally {
        server.close();
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'kills the guest at its timeout and reports it',
    async () => {
      const guest = await startGuest({ script: 'echo never\n', timeoutMs: 2_000 });
      running.push(guest);
      const r = await guest.result;
      expect(r.timedOut, report(r)).toBe(true);
      expect(r.exitCode).toBeNull();
      expect(r.error).toMatch(/timed out after 2000 ms/);
      expect(() => process.kill(guest.pid, 0)).toThrow(/ESRCH/);
    },
    TEST_TIMEOUT,
  );
});
