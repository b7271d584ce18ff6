/** discover, identify, read and write against an in-process target over loopback. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@nvmu/client';
import { cliMain } from '../src/cli.js';
import { type TestTarget, startTarget, streams } from './target.js';

let t: TestTarget;
let dir: string;

beforeAll(async () => {
  t = await startTarget({ blockSize: 512, numBlocks: 2048, namespaces: 2 });
  dir = await mkdtemp(join(tmpdir(), 'nvmu-cli-'));
});
afterAll(async () => {
  await t.close();
  await rm(dir, { recursive: true, force: true });
});

describe('discover', () => {
  it('prints the discovery log like nvme discover', async () => {
    const s = streams();
    expect(await cliMain(['discover', '-r', t.discoveryTrid], s.io)).toBe(0);
    const text = s.out();
    expect(text).toMatch(/^Discovery Log Number of Records [1-9]\d*, Generation counter \d+$/m);
    expect(text).toMatch(/^=====Discovery Log Entry 0======$/m);
    expect(text).toContain(`subnqn:  ${t.nqn}\n`);
    expect(text).toContain(`traddr:  ${t.traddr}\n`);
    expect(text).toMatch(/^trtype: {2}loopback$/m);
    expect(text).toMatch(/^adrfam: {2}intra-host$/m);
    expect(text).toMatch(/^subtype: nvme subsystem$/m);
    expect(text).toMatch(/^treq: {4}not specified/m);
    expect(text).toMatch(/^eflags: {2}/m);
    expect(text).toMatch(/^sectype: none$/m);
  });

  it('--json gives records with a connectable trid', async () => {
    const s = streams();
    expect(await cliMain(['discover', '-r', t.discoveryTrid, '--json'], s.io)).toBe(0);
    const j = JSON.parse(s.out()) as { genctr: number; numrec: number; records: Record<string, unknown>[] };
    expect(j.numrec).toBe(j.records.length);
    expect(j.genctr).toEqual(expect.any(Number));
    const mine = j.records.find((r) => r.subnqn === t.nqn);
    expect(mine).toMatchObject({ trtype: 'loopback', adrfam: 'intra-host', subtype: 'nvme subsystem', traddr: t.traddr, portid: expect.any(Number) as unknown });
    // The trid it gives reaches the subsystem.
    const s2 = streams();
    expect(await cliMain(['identify', '-r', mine!.trid as string, '--ns', '1', '--json'], s2.io)).toBe(0);
  });

  it('reports the generation counter of the log it printed, and a new one after a change', async () => {
    const genctr = async (): Promise<number> => {
      const c = await connect(t.discoveryTrid, { reconnect: false });
      try {
        return Number(Buffer.from(await c.getLogPage(0x70, new Uint8Array(1024), 0, 0)).readBigUInt64LE(0));
      } finally {
        await c.close();
      }
    };
    const run = async (): Promise<{ genctr: number; numrec: number }> => {
      const s = streams();
      expect(await cliMain(['discover', '-r', t.discoveryTrid, '--json'], s.io)).toBe(0);
      return JSON.parse(s.out()) as { genctr: number; numrec: number };
    };
    const before = await run();
    expect(before.genctr).toBe(await genctr());
    const addr = { trtype: 'loopback', adrfam: 'intra-host', traddr: `${t.traddr}-g`, trsvcid: '' } as const;
    await t.target.listen(addr);
    await t.target.getSubsystem(t.nqn)!.addListener(addr);
    const after = await run();
    expect(after.genctr).not.toBe(before.genctr);
    expect(after.genctr).toBe(await genctr());
    expect(after.numrec).toBe(before.numrec + 1);
    const s = streams();
    expect(await cliMain(['discover', '-r', t.discoveryTrid], s.io)).toBe(0);
    expect(s.out()).toContain(`Discovery Log Number of Records ${after.numrec}, Generation counter ${after.genctr}\n`);
  });
});

describe('identify', () => {
  it('prints id-ctrl and id-ns fields', async () => {
    const s = streams();
    expect(await cliMain(['identify', '-r', t.trid], s.io)).toBe(0);
    const text = s.out();
    expect(text).toMatch(/^NVME Identify Controller:$/m);
    expect(text).toMatch(/^vid {7}: 0x[0-9a-f]+$/m);
    expect(text).toMatch(/^sn {8}: NVMUCLI0001$/m);
    expect(text).toMatch(/^mn {8}: nvmu cli test$/m);
    expect(text).toMatch(/^cntlid {4}: 0x[0-9a-f]+$/m);
    expect(text).toMatch(/^nn {8}: \d+$/m);
    expect(text).toContain(`subnqn    : ${t.nqn}\n`);
    expect(text).toMatch(/^ps {4}0 : mp:\d+\.\d\dW (non-)?operational enlat:\d+ exlat:\d+ rrt:\d+ rrl:\d+ rwt:\d+ rwl:\d+$/m);
    expect(text).toMatch(/^NVME Identify Namespace 1:$/m);
    expect(text).toMatch(/^NVME Identify Namespace 2:$/m);
    expect(text).toMatch(/^nsze {6}: 0x800$/m);
    expect(text).toMatch(/^ncap {6}: 0x800$/m);
    expect(text).toMatch(/^lbaf {2}0 : ms:0 +lbads:9 +rp:0x0 \(Best\) \(in use\)$/m);
  });

  it('--json has the controller and namespaces with nvme-cli names', async () => {
    const s = streams();
    expect(await cliMain(['identify', '-r', t.trid, '--json'], s.io)).toBe(0);
    const j = JSON.parse(s.out()) as { controller: Record<string, unknown>; namespaces: Record<string, unknown>[] };
    expect(j.controller).toMatchObject({ sn: 'NVMUCLI0001', mn: 'nvmu cli test', subnqn: t.nqn, cntlid: expect.any(Number) as unknown, ver: expect.any(Number) as unknown });
    expect(j.controller.nn).toBeGreaterThanOrEqual(2);
    expect(j.controller.psds).toHaveLength((j.controller.npss as number) + 1);
    expect(j.namespaces.map((n) => n.nsid)).toEqual([1, 2]);
    expect(j.namespaces[0]).toMatchObject({ nsid: 1, nsze: 2048, ncap: 2048, flbas: 0, lbafs: [{ ms: 0, ds: 9, rp: 0, inUse: true }] });
  });

  it('--ns limits to one namespace; an inactive one is an error', async () => {
    const s = streams();
    expect(await cliMain(['identify', '-r', t.trid, '--ns', '2', '--json'], s.io)).toBe(0);
    const j = JSON.parse(s.out()) as { controller?: unknown; namespaces: { nsid: number }[] };
    expect(j.controller).toBeUndefined();
    expect(j.namespaces.map((n) => n.nsid)).toEqual([2]);
    const s2 = streams();
    expect(await cliMain(['identify', '-r', t.trid, '--ns', '7'], s2.io)).toBe(1);
    expect(s2.err()).toMatch(/^nvmu identify: namespace 7 is not active on nqn\.\S+ \(active: 1, 2\)$/m);
  });
});

describe('read and write', () => {
  it('round-trips a block range through files', async () => {
    const data = randomBytes(8 * 512);
    const inFile = join(dir, 'in.bin');
    const outFile = join(dir, 'out.bin');
    await writeFile(inFile, data);
    const w = streams();
    expect(await cliMain(['write', '-r', t.trid, '--ns', '1', '--lba', '16', '-f', inFile], w.io)).toBe(0);
    expect(w.err()).toMatch(/wrote 8 blocks to nsid 1 LBA 16/);
    const r = streams();
    expect(await cliMain(['read', '-r', t.trid, '--ns', '1', '--lba', '16', '--count', '8', '-f', outFile], r.io)).toBe(0);
    expect(r.err()).toMatch(/read 8 blocks \(4096 bytes\) from nsid 1 LBA 16/);
    expect(Buffer.compare(await readFile(outFile), data)).toBe(0);
    // Namespace 2 was not touched.
    const r2 = streams();
    expect(await cliMain(['read', '-r', t.trid, '-n', '2', '-s', '16', '-c', '8', '-f', '-'], r2.io)).toBe(0);
    expect(r2.outBytes().equals(Buffer.alloc(4096))).toBe(true);
  });

  it('splits large ranges into several commands and uses stdin/stdout for -f -', async () => {
    // 1500 blocks of 512 bytes = 750 KiB: above the loopback transport's 128 KiB per command.
    const data = randomBytes(1500 * 512);
    const w = streams(data);
    expect(await cliMain(['write', '-r', t.trid, '--ns', '2', '--lba', '100', '-f', '-'], w.io)).toBe(0);
    const r = streams();
    expect(await cliMain(['read', '-r', t.trid, '--ns', '2', '--lba', '100', '--count', '1500', '-f', '-'], r.io)).toBe(0);
    expect(r.outBytes().equals(data)).toBe(true);
  });

  it('--count on write takes that many blocks of the file', async () => {
    const inFile = join(dir, 'partial.bin');
    await writeFile(inFile, Buffer.alloc(4 * 512, 0x5a));
    const w = streams();
    expect(await cliMain(['write', '-r', t.trid, '--ns', '1', '--lba', '0', '--count', '2', '-f', inFile], w.io)).toBe(0);
    const r = streams();
    expect(await cliMain(['read', '-r', t.trid, '--ns', '1', '--lba', '0', '--count', '3', '-f', '-'], r.io)).toBe(0);
    const back = r.outBytes();
    expect(back.subarray(0, 1024).every((b) => b === 0x5a)).toBe(true);
    expect(back.subarray(1024).every((b) => b === 0x5a)).toBe(false);
  });

  it('reports NVMe status names and bad input clearly', async () => {
    const s = streams();
    expect(await cliMain(['read', '-r', t.trid, '--ns', '1', '--lba', '2047', '--count', '2', '-f', '-'], s.io)).toBe(1);
    expect(s.err()).toMatch(/^nvmu read: Read \(qid \d+, cid \d+, nsid 1\) failed: \w*LbaOutOfRange\w* \(sct 0x0, sc 0x80/m);

    const odd = join(dir, 'odd.bin');
    await writeFile(odd, Buffer.alloc(700));
    const s2 = streams();
    expect(await cliMain(['write', '-r', t.trid, '--ns', '1', '--lba', '0', '-f', odd], s2.io)).toBe(2);
    expect(s2.err()).toMatch(/the input is 700 bytes, not a whole number of 512-byte blocks/);

    const s3 = streams();
    expect(await cliMain(['write', '-r', t.trid, '--ns', '1', '--lba', '0', '--count', '4', '-f', odd], s3.io)).toBe(2);
    expect(s3.err()).toMatch(/--count 4 needs 2048 bytes of input, got 700/);

    const s4 = streams();
    expect(await cliMain(['write', '-r', t.trid, '--ns', '1', '-f', join(dir, 'missing.bin')], s4.io)).toBe(1);
    expect(s4.err()).toMatch(/cannot read .*missing\.bin: ENOENT/);

    const s5 = streams();
    expect(await cliMain(['read', '-r', t.trid, '--ns', '9', '--count', '1', '-f', '-'], s5.io)).toBe(1);
    expect(s5.err()).toMatch(/namespace 9 is not active/);
  });
});

describe('bad arguments and unreachable controllers', () => {
  it('exits 2 with a message naming the problem', async () => {
    const cases: [string[], RegExp][] = [
      [[], /usage: nvmu <command>/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['identify'], /nvmu identify: -r <transport ID> is required/],
      [['identify', '-r', 'trtype:tcp'], /nvmu identify: -r 'trtype:tcp': transport ID has no traddr/],
      [['identify', '-r', 'nonsense'], /'nonsense' is not key:value/],
      [['identify', '-r', t.trid, '--ns', 'x'], /--ns x: expected an integer from 1/],
      [['identify', '-r', t.trid, '--bogus'], /Unknown option '--bogus'/],
      [['read', '-r', t.trid, '--count', '1', '-f', '-'], /--ns <nsid> is required/],
      [['read', '-r', t.trid, '--ns', '1', '-f', '-'], /--count <blocks> is required/],
      [['read', '-r', t.trid, '--ns', '1', '--count', '1'], /-f <file> is required \(- for stdout\)/],
      [['read', '-r', t.trid, '--ns', '1', '--count', '0', '-f', '-'], /--count 0: expected an integer from 1/],
      [['read', '-r', t.trid, '--ns', '1', '--count', '1', '--lba', '-3', '-f', '-'], /lba/],
    ];
    for (const [argv, re] of cases) {
      const s = streams();
      expect(await cliMain(argv, s.io), argv.join(' ')).toBe(2);
      expect(s.err(), argv.join(' ')).toMatch(re);
    }
  });

  it('exits 1 when nothing listens or no transport is registered', async () => {
    const s = streams();
    expect(await cliMain(['identify', '-r', 'trtype:loopback traddr:nobody-listens subnqn:nqn.2026-01.io.nvmu:nobody'], s.io)).toBe(1);
    expect(s.err()).toMatch(/no loopback listener named 'nobody-listens'/);
    const s2 = streams();
    expect(await cliMain(['discover', '-r', 'trtype:rdma traddr:10.0.0.1'], s2.io)).toBe(1);
    expect(s2.err()).toMatch(/no host transport registered for trtype 'rdma'/);
  });

  it('prints help with exit 0', async () => {
    const s = streams();
    expect(await cliMain(['--help'], s.io)).toBe(0);
    expect(s.out()).toMatch(/usage: nvmu <command>/);
    const s2 = streams();
    expect(await cliMain(['read', '-h'], s2.io)).toBe(0);
  });
});
