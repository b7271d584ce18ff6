/**
 * The Linux `nvme` (PCIe) driver against one PCI NVMe controller in the guest — a vfio-user-pci
 * device served by nvmu, or any other — as one guest script, and the parser that turns the
 * script's output into facts a test asserts on.
 *
 * The script prints one line per fact (`PCI-NVME`, `BOUND`, `NAMESPACE`, `IRQS`, `PERSIST-*`)
 * plus the tools' own output (nvme list, id-ctrl, id-ns, fio) between `--- <section>` lines.
 */
import { guestScripts as g } from './scripts.js';

export interface PciNvmeFlowOptions {
  /**
   * What to do with data that outlives the guest (written at `persistOffsetMiB`):
   * - `none` (default): nothing;
   * - `write`: write it last (`PERSIST-WRITTEN <md5>`), for a later guest to check;
   * - `check`: only find the controller, identify, and check what an earlier guest wrote
   *   (`PERSIST-READ <md5> <writer>`): no dd/fio run over it;
   * - `reboot`: run the whole flow, write the data, reboot (the guest needs the `reboot` option),
   *   and in the second boot find the controller again and check the data.
   */
  readonly persist?: 'none' | 'write' | 'check' | 'reboot';
  /** dd pattern check size in MiB (default 4). */
  readonly ddMiB?: number;
  /** fio runtime cap per job in seconds (default 3). */
  readonly fioRuntimeS?: number;
  /** fio region per job (default 8M); jobs lie side by side from offset 0. */
  readonly fioSize?: string;
  /** Where the persisted data lies, in MiB (default 64; the namespace needs 4 MiB + 4 KiB more). */
  readonly persistOffsetMiB?: number;
  /** Seconds to wait for the driver to bind and the namespace to appear (default 30). */
  readonly waitS?: number;
  /**
   * After the I/O flow, stay idle this many seconds, then write and read back the dd pattern
   * again (`AFTER-IDLE-IO-PASSED`): a target that sleeps while idle must wake for the guest.
   * Default 0 (no idle step). Only with persist `none` or `write`.
   */
  readonly idleS?: number;
}

/** The end line of a flow that passed. */
export const PCI_NVME_FLOW_DONE = 'PCI-NVME-FLOW-DONE';

/**
 * The guest script: find the controller by class 010802, `modprobe nvme`, wait for the
 * namespace, `nvme list` / `id-ctrl` / `id-ns`, MSI-X counts, a dd pattern write and read-back,
 * fio `--verify=crc32c` over 4 KiB random writes and 128 KiB sequential writes with one job per
 * I/O queue, MSI-X counts again, then the persist step. Ends with PCI_NVME_FLOW_DONE.
 */
export function pciNvmeFlow(o: PciNvmeFlowOptions = {}): string {
  const persist = o.persist ?? 'none';
  const runtimeS = o.fioRuntimeS ?? 3;
  const size = o.fioSize ?? '8M';
  const p = { dev: '"$dev"', offsetMiB: o.persistOffsetMiB ?? 64 };
  const identify = g.nvmeIdentify('"$ctrl"', '"$dev"');
  const io = [
    g.irqCounts('"$ctrl"', 'before'),
    'echo "IO-QUEUES $nvmu_nq"\n',
    '[ "$nvmu_nq" -ge 1 ] || nvmu_fail "no I/O queue vectors for $ctrl in /proc/interrupts"\n',
    'echo "--- dd"\n',
    g.ddPatternCheck('"$dev"', o.ddMiB ?? 4),
    'echo "--- fio rand4k"\n',
    g.fioVerify({ dev: '"$dev"', name: 'rand4k', rw: 'randwrite', bs: '4k', size, runtimeS, iodepth: 16, numjobs: '"$nvmu_nq"' }),
    'echo "--- fio seq128k"\n',
    // 128 KiB blocks: 64 to the 8 MiB region, so verify every 16 to have reads within the runtime.
    g.fioVerify({ dev: '"$dev"', name: 'seq128k', rw: 'write', bs: '128k', size, runtimeS, iodepth: 8, numjobs: '"$nvmu_nq"', verifyBacklog: 16 }),
    'echo "--- end"\n',
    g.irqCounts('"$ctrl"', 'after'),
    (o.idleS ?? 0) > 0
      ? `echo "--- idle ${o.idleS ?? 0}s"\nsleep ${o.idleS ?? 0}\necho "--- after-idle"\n` + g.ddPatternCheck('"$dev"', 1) + 'echo AFTER-IDLE-IO-PASSED\n'
      : '',
  ].join('');
  const parts = [g.prelude(), g.pciNvmeController({ waitS: o.waitS ?? 30 })];
  switch (persist) {
    case 'none':
      parts.push(identify, io);
      break;
    case 'write':
      parts.push(identify, io, g.persistWrite(p));
      break;
    case 'check':
      parts.push(identify, g.persistCheck(p));
      break;
    case 'reboot':
      parts.push(g.rebootOnce({ ...p, before: identify + io, after: identify }));
      break;
  }
  parts.push(`echo ${PCI_NVME_FLOW_DONE}\n`);
  return parts.join('');
}

/** `key : value` lines of nvme-cli's id-ctrl / id-ns output (keys as nvme-cli prints them). */
export type IdFields = Readonly<Record<string, string>>;

export interface PciNvmeFlowReport {
  /** PCI address, vendor and device id of the controller found (class 010802). */
  readonly pci?: { readonly bdf: string; readonly vendor: string; readonly device: string };
  /** The controller the nvme driver bound (`nvme0`). */
  readonly ctrl?: string;
  /** The namespace's block device (`/dev/nvme0n1`). */
  readonly dev?: string;
  /** `nvme list` rows (whitespace-split; the first field is the device). */
  readonly list: readonly (readonly string[])[];
  /** The last `nvme id-ctrl` output's fields (sn, mn, fr, vid, nn, mdts, subnqn, …). */
  readonly idCtrl: IdFields;
  /** The last `nvme id-ns` output's fields (nsze, ncap, nuse, flbas, `lbaf 0`, …; spaces in keys collapsed). */
  readonly idNs: IdFields;
  /** MSI-X counts by label (`before`, `after`), then vector name (`nvme0q1`). */
  readonly irqs: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** Number of I/O queue vectors (the fio jobs). */
  readonly ioQueues?: number;
  readonly ddPassed: boolean;
  /** The dd pattern check after the idle step passed (`idleS`). */
  readonly afterIdlePassed: boolean;
  /** fio jobs that passed their verification, by name (`rand4k`, `seq128k`). */
  readonly fioPassed: readonly string[];
  /** `err=` values fio printed (all must be 0). */
  readonly fioErrors: readonly number[];
  readonly persistWritten?: string;
  readonly persistRead?: string;
  readonly persistPassed: boolean;
  /** The guest said REBOOTING / REBOOTED. */
  readonly rebooting: boolean;
  readonly rebooted: boolean;
  /** The script ran to PCI_NVME_FLOW_DONE. */
  readonly done: boolean;
  /** `FAIL: …` lines. */
  readonly failures: readonly string[];
}

/** Reads pciNvmeFlow()'s output (GuestResult.guestOutput). */
export function parsePciNvmeFlow(text: string): PciNvmeFlowReport {
  let pci: PciNvmeFlowReport['pci'];
  let ctrl: string | undefined;
  let dev: string | undefined;
  let ioQueues: number | undefined;
  let persistWritten: string | undefined;
  let persistRead: string | undefined;
  const list: string[][] = [];
  let idCtrl: Record<string, string> = {};
  let idNs: Record<string, string> = {};
  const irqs: Record<string, Record<string, number>> = {};
  const fioPassed: string[] = [];
  const fioErrors: number[] = [];
  const failures: string[] = [];
  let section = '';
  let fields: Record<string, string> | undefined;
  let m: RegExpExecArray | null;
  for (const line of text.split('\n')) {
    if ((m = /^--- (\S+)/.exec(line)) !== null) {
      section = m[1] ?? '';
      fields = undefined;
      if (section === 'id-ctrl') fields = idCtrl = {};
      else if (section === 'id-ns') fields = idNs = {};
      continue;
    }
    if ((m = /^PCI-NVME (\S+) (0x[0-9a-f]+):(0x[0-9a-f]+)$/.exec(line)) !== null) pci = { bdf: m[1] ?? '', vendor: m[2] ?? '', device: m[3] ?? '' };
    else if ((m = /^BOUND \S+ nvme (\S+)$/.exec(line)) !== null) ctrl = m[1];
    else if ((m = /^NAMESPACE (\S+) (\S+)$/.exec(line)) !== null) [ctrl, dev] = [m[1], m[2]];
    else if ((m = /^IRQS (\S+) (\S+) (\d+)$/.exec(line)) !== null) (irqs[m[1] ?? ''] ??= {})[m[2] ?? ''] = Number(m[3]);
    else if ((m = /^IO-QUEUES (\d+)$/.exec(line)) !== null) ioQueues = Number(m[1]);
    else if ((m = /^fio verify passed \((\S+)\)$/.exec(line)) !== null) fioPassed.push(m[1] ?? '');
    else if ((m = /^PERSIST-WRITTEN ([0-9a-f]{32})$/.exec(line)) !== null) persistWritten = m[1];
    else if ((m = /^PERSIST-READ ([0-9a-f]{32})/.exec(line)) !== null) persistRead = m[1];
    else if (line.startsWith('FAIL: ')) failures.push(line.slice(6));
    else if (section === 'list' && line.startsWith('/dev/')) list.push(line.trim().split(/\s+/));
    else if (fields !== undefined && (m = /^(\S+(?: +\d+)?)\s*: (.*)$/.exec(line)) !== null) fields[(m[1] ?? '').replace(/\s+/g, ' ')] = (m[2] ?? '').trim();
    for (const e of line.matchAll(/\berr= *(-?\d+)/g)) fioErrors.push(Number(e[1]));
  }
  return {
    ...(pci === undefined ? {} : { pci }),
    ...(ctrl === undefined ? {} : { ctrl }),
    ...(dev === undefined ? {} : { dev }),
    list,
    idCtrl,
    idNs,
    irqs,
    ...(ioQueues === undefined ? {} : { ioQueues }),
    ddPassed: /^dd pattern check passed$/m.test(text),
    afterIdlePassed: /^AFTER-IDLE-IO-PASSED$/m.test(text),
    fioPassed,
    fioErrors,
    ...(persistWritten === undefined ? {} : { persistWritten }),
    ...(persistRead === undefined ? {} : { persistRead }),
    persistPassed: /^persist check passed$/m.test(text),
    rebooting: /^REBOOTING$/m.test(text),
    rebooted: /^REBOOTED$/m.test(text),
    done: new RegExp(`^${PCI_NVME_FLOW_DONE}$`, 'm').test(text),
    failures,
  };
}

/** Sum of the I/O queue vectors' counts (nvme0q1…) under a label. */
export function ioIrqTotal(report: PciNvmeFlowReport, label: string): number {
  let total = 0;
  for (const [name, count] of Object.entries(report.irqs[label] ?? {})) if (!name.endsWith('q0')) total += count;
  return total;
}
