/**
 * The CLI against the nvmu target daemon (@nvmu/target's `startDaemon`, its default setup on a
 * free port: a file-backed namespace over NVMe/TCP with discovery on the same listener), through
 * the TCP host transport as main.ts registers it: discover, identify, write and read.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '@nvmu/transport-tcp/host';
import * as daemonApi from '@nvmu/target';
import { startTestDaemon, type TestDaemon } from '@nvmu/test-kit/daemon';
import { cliMain } from '../src/cli.js';
import { streams } from './target.js';

let fixture: TestDaemon<daemonApi.RunningDaemon>;
let dir: string;
let daemon: daemonApi.RunningDaemon;
let base: string;
let trid: string;

beforeAll(async () => {
  fixture = await startTestDaemon(daemonApi, 'nvmu-cli-daemon-');
  ({ dir, daemon } = fixture);
  base = `trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${daemon.options.trsvcid}`;
  trid = `${base} subnqn:${daemon.options.nqn}`;
});
afterAll(async () => {
  await fixture.close();
});

describe('nvmu against the nvmu target over NVMe/TCP', () => {
  it('discover lists the daemon\'s subsystem with a trid that identify can use', async () => {
    const s = streams();
    expect(await cliMain(['discover', '-r', base], s.io)).toBe(0);
    expect(s.out()).toMatch(/^Discovery Log Number of Records [1-9]\d*, Generation counter \d+$/m);
    expect(s.out()).toMatch(/^trtype: {2}tcp$/m);
    expect(s.out()).toMatch(/^adrfam: {2}ipv4$/m);
    expect(s.out()).toContain(`trsvcid: ${daemon.options.trsvcid}\n`);
    expect(s.out()).toContain(`subnqn:  ${daemon.options.nqn}\n`);
    const j = streams();
    expect(await cliMain(['discover', '-r', base, '--json'], j.io)).toBe(0);
    const log = JSON.parse(j.out()) as { records: { subnqn: string; trid: string }[] };
    const mine = log.records.find((r) => r.subnqn === daemon.options.nqn);
    expect(mine?.trid).toBe(`trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${daemon.options.trsvcid} subnqn:${daemon.options.nqn}`);
    const id = streams();
    expect(await cliMain(['identify', '-r', mine!.trid, '--json'], id.io)).toBe(0);
    expect(JSON.parse(id.out())).toMatchObject({ controller: { subnqn: daemon.options.nqn, mn: 'nvmu', sn: 'NVMU0001' } });
  });

  it('identify prints id-ctrl and id-ns of the file-backed namespace', async () => {
    const s = streams();
    expect(await cliMain(['identify', '-r', trid], s.io)).toBe(0);
    expect(s.out()).toMatch(/^NVME Identify Controller:$/m);
    expect(s.out()).toMatch(/^mn {8}: nvmu$/m);
    expect(s.out()).toMatch(/^sn {8}: NVMU0001$/m);
    expect(s.out()).toMatch(/^NVME Identify Namespace 1:$/m);
    expect(s.out()).toMatch(/^nsze {6}: 0x2000$/m); // 4 MiB of 512-byte blocks
  });

  it('writes a file to a block range and reads it back', async () => {
    const data = randomBytes(300 * 512); // above one command at the default MDTS: split
    const inFile = join(dir, 'in.bin');
    const outFile = join(dir, 'out.bin');
    await writeFile(inFile, data);
    const w = streams();
    expect(await cliMain(['write', '-r', trid, '--ns', '1', '--lba', '1000', '-f', inFile], w.io)).toBe(0);
    const r = streams();
    expect(await cliMain(['read', '-r', trid, '--ns', '1', '--lba', '1000', '--count', '300', '-f', outFile], r.io)).toBe(0);
    expect(Buffer.compare(await readFile(outFile), data)).toBe(0);
    // An LBA past the end gets the NVMe status name over TCP too.
    const bad = streams();
    expect(await cliMain(['read', '-r', trid, '--ns', '1', '--lba', '8191', '--count', '2', '-f', '-'], bad.io)).toBe(1);
    expect(bad.err()).toMatch(/LbaOutOfRange/);
  });
});
