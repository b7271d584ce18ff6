/**
 * scripts/build-qemu.sh without building anything: which mirror it derives from the machine's
 * apt sources (both formats), and which cached build it reuses (--find). The real build is
 * exercised by install-deps.sh (CI) and checked by qemu-vfio-user.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cachedQemus, findVfioUserQemu, firmwareArgs, qemuHasDevice, vfioUserDeviceArgs } from '../src/qemu.js';

const SCRIPT = join(import.meta.dirname, '..', 'scripts', 'build-qemu.sh');
const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'nvmu-build-qemu-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function run(args: string[], env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('bash', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fake qemu-system-x86_64 in <cache>/qemu-<version>/bin that lists (or not) vfio-user-pci. */
function fakeQemu(cache: string, version: string, vfioUser: boolean): string {
  const bin = join(cache, `qemu-${version}`, 'bin');
  mkdirSync(bin, { recursive: true });
  const p = join(bin, 'qemu-system-x86_64');
  const devices = `name "nvme", bus PCI${vfioUser ? '\\nname "vfio-user-pci", bus PCI' : ''}`;
  writeFileSync(p, `#!/bin/sh\ncase "$*" in\n*"-device help"*) printf '${devices}\\n' ;;\n*--version*) echo "QEMU emulator version ${version}" ;;\nesac\n`);
  chmodSync(p, 0o755);
  return p;
}

describe('build-qemu.sh --mirror: the machine’s own Debian mirror', () => {
  it('reads the bookworm entry of a deb822 .sources file, not the security one', () => {
    const etc = tempDir();
    mkdirSync(join(etc, 'sources.list.d'));
    writeFileSync(
      join(etc, 'sources.list.d', 'debian.sources'),
      [
        'Types: deb',
        'URIs: http://security.example/debian-security',
        'Suites: bookworm-security',
        'Components: main',
        '',
        '# a comment',
        'Types: deb deb-src',
        'URIs: http://mirror.example/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main',
        'Signed-By: /usr/share/keyrings/example.gpg',
        '',
      ].join('\n'),
    );
    const r = run(['--mirror'], { NVMU_APT_ETC: etc });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('http://mirror.example/debian /usr/share/keyrings/example.gpg\n');
  });

  it('reads a one-line sources.list entry with options', () => {
    const etc = tempDir();
    writeFileSync(
      join(etc, 'sources.list'),
      '# deb http://old.example/debian bookworm main\ndeb http://sec.example/debian-security bookworm-security main\n' +
        'deb [arch=amd64 signed-by=/k/one.gpg] http://one.example/debian bookworm main contrib\n',
    );
    const r = run(['--mirror'], { NVMU_APT_ETC: etc });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('http://one.example/debian /k/one.gpg\n');
  });

  it('fails loudly without a bookworm entry', () => {
    const etc = tempDir();
    writeFileSync(join(etc, 'sources.list'), 'deb http://x.example/ubuntu jammy main\n');
    const r = run(['--mirror'], { NVMU_APT_ETC: etc });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/FAILED: no Debian bookworm entry/);
  });
});

describe('build-qemu.sh --find and the harness: the cached build', () => {
  it('reuses the newest intact build, passing over one without vfio-user-pci', () => {
    const cache = tempDir();
    const good = fakeQemu(cache, '10.2.2+ds-1', true);
    fakeQemu(cache, '11.1.3+ds-1', false);
    fakeQemu(cache, '10.1.0+ds-1', true);
    mkdirSync(join(cache, 'qemu-9.9.9'), { recursive: true }); // no binary at all
    const r = run(['--find'], { NVMU_QEMU_CACHE: cache });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${good}\n`);
    expect(r.stderr).toMatch(/ignoring .*qemu-11\.1\.3\+ds-1/);
    // The harness picks the same one.
    expect(cachedQemus(cache).map((p) => p.split('/').at(-3))).toEqual(['qemu-11.1.3+ds-1', 'qemu-10.2.2+ds-1', 'qemu-10.1.0+ds-1']);
    expect(findVfioUserQemu(cache)).toBe(good);
    expect(qemuHasDevice(good, 'vfio-user-pci')).toBe(true);
    expect(qemuHasDevice(good, 'vfio-user')).toBe(false);
  });

  it('--find exits 1 when nothing cached is usable', () => {
    const cache = tempDir();
    fakeQemu(cache, '10.2.2+ds-1', false);
    const r = run(['--find'], { NVMU_QEMU_CACHE: cache });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(findVfioUserQemu(cache)).toBeUndefined();
  });

  it('rejects unknown options', () => {
    expect(run(['--bogus'], {}).status).toBe(2);
  });
});

describe('QEMU arguments', () => {
  it("gives a QEMU other than Debian's the Debian firmware directories", () => {
    expect(firmwareArgs('/usr/bin/qemu-system-x86_64')).toEqual([]);
    const args = firmwareArgs('/var/cache/nvmu/qemu-10.2.2+ds-1/bin/qemu-system-x86_64');
    for (let i = 0; i < args.length; i += 2) expect(args[i]).toBe('-L');
    expect(args.filter((_, i) => i % 2 === 1).every((d) => ['/usr/share/seabios', '/usr/share/qemu', '/usr/lib/ipxe/qemu'].includes(d))).toBe(true);
  });

  it('spells a vfio-user-pci device in JSON with a unix socket', () => {
    expect(vfioUserDeviceArgs('/tmp/v/cntrl', 'vfu0')).toEqual(['-device', '{"driver":"vfio-user-pci","id":"vfu0","socket":{"path":"/tmp/v/cntrl","type":"unix"}}']);
  });
});
