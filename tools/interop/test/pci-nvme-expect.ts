/**
 * Assertions on a pciNvmeFlow() run, shared by the tests against QEMU's own NVMe emulation and
 * against nvmu's vfio-user target.
 */
import { expect } from 'vitest';
import type { GuestResult } from '../src/guest.js';
import { ioIrqTotal, parsePciNvmeFlow, type PciNvmeFlowReport } from '../src/pci-nvme.js';

/** Everything a failed assertion needs to be understood. */
export function report(r: GuestResult): string {
  return (
    `exit ${r.exitCode} (${r.error ?? 'ok'}), boots ${r.boots}, boot ${r.bootMs} ms, total ${r.durationMs} ms\n` +
    `--- guest output ---\n${r.guestOutput}\n--- console (tail) ---\n${r.output.slice(-3000)}\n--- qemu stderr ---\n${r.qemuStderr}`
  );
}

export interface FlowExpectations {
  /** Identify Controller fields as nvme-cli prints them (sn, mn, …), compared after trimming. */
  readonly idCtrl?: Readonly<Record<string, string>>;
  /** Namespace size in logical blocks (id-ns nsze). */
  readonly nsze?: number;
  /** The whole I/O flow ran in this guest (false for persist: 'check'). */
  readonly io?: boolean;
}

/** Parses the flow's output and asserts what every run must show; returns the report. */
export function expectFlow(r: GuestResult, want: FlowExpectations = {}): PciNvmeFlowReport {
  const f = parsePciNvmeFlow(r.guestOutput);
  const why = report(r);
  expect(f.failures, why).toEqual([]);
  expect(r.exitCode, why).toBe(0);
  expect(f.done, why).toBe(true);
  // Found by class 010802 and bound by the nvme driver.
  expect(f.pci?.bdf, why).toMatch(/^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/);
  expect(f.ctrl, why).toMatch(/^nvme\d+$/);
  expect(f.dev, why).toMatch(/^\/dev\/nvme\d+n1$/);
  // nvme list shows the namespace; id-ctrl and id-ns answer.
  expect(f.list.map((row) => row[0]), why).toContain(f.dev);
  expect(f.idCtrl.mn, why).toBeTruthy();
  expect(f.idCtrl.sn, why).toBeTruthy();
  expect(Number(f.idCtrl.nn), why).toBeGreaterThanOrEqual(1);
  for (const [k, v] of Object.entries(want.idCtrl ?? {})) expect(f.idCtrl[k], `id-ctrl ${k}\n${why}`).toBe(v);
  expect(Number(f.idNs.nsze), why).toBeGreaterThan(0);
  if (want.nsze !== undefined) expect(Number(f.idNs.nsze), why).toBe(want.nsze);
  // The list row carries the serial and model id-ctrl reports.
  const row = f.list.find((x) => x[0] === f.dev)?.join(' ') ?? '';
  expect(row, why).toContain(f.idCtrl.sn);
  if (want.io !== false) {
    expect(f.ioQueues, why).toBeGreaterThanOrEqual(1);
    // One MSI-X vector per I/O queue, counting up with I/O.
    expect(Object.keys(f.irqs.before ?? {}).filter((n) => !n.endsWith('q0')), why).toHaveLength(f.ioQueues ?? 0);
    expect(ioIrqTotal(f, 'after'), why).toBeGreaterThan(ioIrqTotal(f, 'before'));
    expect(f.ddPassed, why).toBe(true);
    expect(f.fioPassed, why).toEqual(['rand4k', 'seq128k']);
    expect(f.fioErrors.length, why).toBeGreaterThanOrEqual(2);
    expect(f.fioErrors.every((e) => e === 0), why).toBe(true);
    // Both fio runs ran one job per I/O queue and read back what they wrote.
    for (const name of ['rand4k', 'seq128k']) {
      expect(r.guestOutput, why).toMatch(new RegExp(`^${name}: \\(groupid=0, jobs=${f.ioQueues}\\): err= 0`, 'm'));
    }
    expect(r.guestOutput.match(/issued rwts: total=[1-9]\d*,[1-9]\d*/g)?.length, why).toBe(2);
  }
  return f;
}
