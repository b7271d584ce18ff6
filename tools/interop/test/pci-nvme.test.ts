/**
 * The PCI NVMe guest flow without a guest: its shell parses, its /proc/interrupts reading and
 * its persist record work on host files, and the parser reads nvme-cli's and fio's output.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ioIrqTotal, parsePciNvmeFlow, pciNvmeFlow } from '../src/pci-nvme.js';
import { guestScripts as g } from '../src/scripts.js';

function sh(script: string, env: Record<string, string> = {}): { status: number | null; stdout: string } {
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout + r.stderr };
}

describe('pciNvmeFlow', () => {
  it('is valid shell for every persist mode', () => {
    for (const persist of ['none', 'write', 'check', 'reboot'] as const) {
      expect(spawnSync('sh', ['-n'], { input: pciNvmeFlow({ persist }) }).status, persist).toBe(0);
    }
    const text = pciNvmeFlow();
    expect(text).toContain('--numjobs="$nvmu_nq" --offset_increment=8M');
    expect(text).toContain('--rw=randwrite --bs=4k');
    expect(text).toContain('--rw=write --bs=128k');
    expect(text).toContain('--verify=crc32c');
  });

  it('sums MSI-X counts per vector from /proc/interrupts and counts the I/O queues', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nvmu-irq-'));
    try {
      const file = join(dir, 'interrupts');
      writeFileSync(
        file,
        [
          '           CPU0       CPU1',
          '  1:          9          0   IO-APIC   1-edge      i8042',
          ' 24:          3          4  PCI-MSIX-0000:00:03.0   0-edge      nvme0q0',
          ' 25:        100          0  PCI-MSIX-0000:00:03.0   1-edge      nvme0q1',
          ' 26:          0        250  PCI-MSIX-0000:00:03.0   2-edge      nvme0q2',
          ' 27:          5          5  PCI-MSIX-0000:00:04.0   1-edge      nvme10q1',
          'NMI:          0          0   Non-maskable interrupts',
          '',
        ].join('\n'),
      );
      const r = sh(`ctrl=nvme0\n${g.irqCounts('"$ctrl"', 'before').replaceAll('/proc/interrupts', file).replaceAll('/tmp/nvmu-irqs', join(dir, 'o'))}echo "NQ $nvmu_nq"`);
      expect(r.stdout).toBe('IRQS before nvme0q0 7\nIRQS before nvme0q1 100\nIRQS before nvme0q2 250\nNQ 2\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes a persist record and finds the data again; a changed byte fails the check', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nvmu-pc-'));
    try {
      const disk = join(dir, 'disk');
      writeFileSync(disk, '');
      truncateSync(disk, 8 * 1024 * 1024);
      // Host files have no O_DIRECT trouble on most file systems, but tmpfs refuses it: drop the flags.
      const plain = (t: string): string => t.replaceAll(' oflag=direct', '').replaceAll(' iflag=direct', '').replaceAll('/tmp/nvmu-persist', join(dir, 'p'));
      const o = { dev: disk, offsetMiB: 2, sizeMiB: 1 };
      const w = sh(`nvmu_fail() { echo "FAIL: $*"; exit 1; }\n${plain(g.persistWrite(o))}`, { NVMU_NONCE: 'n1' });
      expect(w.status, w.stdout).toBe(0);
      const md5 = /^PERSIST-WRITTEN ([0-9a-f]{32})$/m.exec(w.stdout)?.[1];
      expect(md5).toBeDefined();
      const c = sh(`nvmu_fail() { echo "FAIL: $*"; exit 1; }\n${plain(g.persistCheck(o))}`);
      expect(c.stdout).toContain(`PERSIST-READ ${md5!} n1`);
      expect(c.stdout).toContain('persist check passed');
      spawnSync('dd', [`of=${disk}`, 'bs=1', 'seek=2097152', 'count=1', 'conv=notrunc'], { input: 'X' });
      const bad = sh(`nvmu_fail() { echo "FAIL: $*"; exit 1; }\n${plain(g.persistCheck(o))}`);
      expect(bad.status).toBe(1);
      expect(bad.stdout).toMatch(/FAIL: persisted data differs/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parsePciNvmeFlow', () => {
  it("reads the flow's lines, nvme-cli's identify fields and fio's results", () => {
    const out = [
      'PCI-NVME 0000:00:03.0 0x4e58:0x0001',
      'BOUND 0000:00:03.0 nvme nvme0',
      'NAMESPACE nvme0 /dev/nvme0n1',
      '--- list',
      'Node                  Generic               SN                   Model                                    Namespace Usage                      Format           FW Rev',
      '--------------------- --------------------- -------------------- ---------------------------------------- --------- -------------------------- ---------------- --------',
      '/dev/nvme0n1          /dev/ng0n1            NVMU0001             nvmu                                     1         134.22  MB / 134.22  MB    512   B +  0 B   0.1.0',
      '--- id-ctrl',
      'NVME Identify Controller:',
      'vid       : 0x4e58',
      'sn        : NVMU0001',
      'mn        : nvmu',
      'nn        : 1',
      'subnqn    : nqn.2026-01.io.nvmu:cnode1',
      'ps      0 : mp:0.00W operational enlat:0 exlat:0 rrt:0 rrl:0',
      '--- id-ns',
      'NVME Identify Namespace 1:',
      'nsze    : 0x40000',
      'lbaf  0 : ms:0   lbads:9  rp:0 (in use)',
      '--- end',
      'IRQS before nvme0q0 10',
      'IRQS before nvme0q1 2',
      'IRQS before nvme0q2 0',
      'IO-QUEUES 2',
      'dd pattern check passed',
      'rand4k: (groupid=0, jobs=2): err= 0: pid=80: Mon Dec  7 17:00:00 2026',
      'fio verify passed (rand4k)',
      'seq128k: (groupid=0, jobs=2): err= 0: pid=90: Mon Dec  7 17:00:00 2026',
      'fio verify passed (seq128k)',
      'IRQS after nvme0q0 12',
      'IRQS after nvme0q1 800',
      'IRQS after nvme0q2 900',
      'PERSIST-WRITTEN 0123456789abcdef0123456789abcdef',
      'PCI-NVME-FLOW-DONE',
      '',
    ].join('\n');
    const f = parsePciNvmeFlow(out);
    expect(f.pci).toEqual({ bdf: '0000:00:03.0', vendor: '0x4e58', device: '0x0001' });
    expect(f.ctrl).toBe('nvme0');
    expect(f.dev).toBe('/dev/nvme0n1');
    expect(f.list).toHaveLength(1);
    expect(f.list[0]?.[2]).toBe('NVMU0001');
    expect(f.idCtrl).toMatchObject({ vid: '0x4e58', sn: 'NVMU0001', mn: 'nvmu', nn: '1', subnqn: 'nqn.2026-01.io.nvmu:cnode1' });
    expect(f.idCtrl['ps 0']).toBe('mp:0.00W operational enlat:0 exlat:0 rrt:0 rrl:0');
    expect(f.idNs.nsze).toBe('0x40000');
    expect(f.idNs['lbaf 0']).toBe('ms:0   lbads:9  rp:0 (in use)');
    expect(Number(f.idNs.nsze)).toBe(262144);
    expect(f.ioQueues).toBe(2);
    expect(ioIrqTotal(f, 'before')).toBe(2);
    expect(ioIrqTotal(f, 'after')).toBe(1700);
    expect(f.ddPassed).toBe(true);
    expect(f.fioPassed).toEqual(['rand4k', 'seq128k']);
    expect(f.fioErrors).toEqual([0, 0]);
    expect(f.persistWritten).toBe('0123456789abcdef0123456789abcdef');
    expect(f.persistPassed).toBe(false);
    expect(f.done).toBe(true);
    expect(f.failures).toEqual([]);
    expect(parsePciNvmeFlow('FAIL: modprobe nvme\n')).toMatchObject({ done: false, failures: ['modprobe nvme'] });
  });
});
