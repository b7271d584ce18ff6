import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseForward } from '../src/guest.js';
import { guestScripts as g, shq } from '../src/scripts.js';

/** `sh -n` parses a script without running it: every block must be valid shell. */
function shellParses(text: string): boolean {
  return spawnSync('sh', ['-n'], { input: text }).status === 0;
}

describe('guest script blocks', () => {
  it('quotes shell words', () => {
    expect(shq("a'b")).toBe(`'a'\\''b'`);
    const r = spawnSync('sh', ['-c', `printf %s ${shq("it's $HOME `x`")}`], { encoding: 'utf8' });
    expect(r.stdout).toBe("it's $HOME `x`");
  });

  it('produce valid shell', () => {
    const nqn = 'nqn.2026-11.io.nvmu:t';
    const text = [
      g.prelude(),
      g.nvmetTcpTarget({ nqn, hostnqn: 'nqn.h', serial: "s'1" }),
      g.nvmetTcpTarget({ nqn, backing: 'file', nsid: 2, port: 4421, portId: 2 }),
      g.nvmeConnect({ addr: '10.0.2.2', nqn, hdrDigest: true, dataDigest: true, nrIoQueues: 2, queueSize: 32, extraArgs: ['--ctrl-loss-tmo=0'] }),
      g.ddPatternCheck('"$dev"'),
      g.fioVerify({ dev: '"$dev"' }),
      g.nvmeDisconnect(nqn),
      g.ready(),
      g.waitForHost(),
      g.kernelHostFlow({ addr: '10.0.2.2', port: 4420, nqn, identify: true, fio: { runtimeS: 1 } }),
      g.kernelHostFlow({ addr: '10.0.2.2', nqn, discover: false, ddMiB: 0, fio: false, devVar: 'd2' }),
    ].join('');
    expect(shellParses(text)).toBe(true);
    expect(text).toContain("-g -G -i 2 -Q 32 '--ctrl-loss-tmo=0'");
    expect(text).toContain('attr_allow_any_host');
    expect(text).toContain('buffered_io');
  });

  it('makes fio read back well before a short runtime can end the write phase', () => {
    // A loaded CI machine once ran out of --runtime before fio's first backlog verify of a
    // 128 KiB job (64 x 128 KiB = the whole 8 MiB), and the run "verified" nothing.
    for (const bs of ['4k', '128k']) {
      const text = g.fioVerify({ dev: '"$dev"', bs, size: '8M' });
      const backlog = Number(/--verify_backlog=(\d+)/.exec(text)?.[1]);
      const blockBytes = bs === '4k' ? 4096 : 131072;
      expect(backlog * blockBytes).toBeLessThanOrEqual((8 << 20) / 4);
    }
  });

  it('rejects a bad device variable name', () => {
    expect(() => g.nvmeConnect({ addr: 'a', nqn: 'n', devVar: 'a b' })).toThrow(/bad shell variable/);
  });

  it('runs nvmu_dev against a fake sysfs layout', () => {
    // nvmu_dev reads /sys/class/nvme-subsystem; rewrite the path to a temp tree to check the logic.
    const script = `${g.prelude().replaceAll('/sys/class/nvme-subsystem', '"$T"')}
T=$(mktemp -d); mkdir -p "$T/nvme-subsys3/nvme3n1" "$T/nvme-subsys1/nvme1n1"
echo other > "$T/nvme-subsys1/subsysnqn"; echo wanted > "$T/nvme-subsys3/subsysnqn"
nvmu_dev wanted; nvmu_dev missing || echo none; rm -rf "$T"`;
    const r = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
    expect(r.stdout).toBe('/dev/nvme3n1\nnone\n');
  });
});

describe('parseForward', () => {
  it("reads QEMU's hostfwd spelling", () => {
    expect(parseForward('127.0.0.1:5000-:4420')).toEqual({ hostAddr: '127.0.0.1', hostPort: 5000, guestPort: 4420 });
    expect(parseForward('tcp::5001-10.0.2.15:4420')).toEqual({ hostAddr: '127.0.0.1', hostPort: 5001, guestPort: 4420 });
    expect(() => parseForward('5000:4420')).toThrow(/bad forward/);
  });
});
