/**
 * nvmu-perf's command line against the nvmu target daemon (@nvmu/target's `startDaemon`: a
 * file-backed namespace over NVMe/TCP) through the TCP host transport, as main.ts registers it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import '@nvmu/transport-tcp/host';
import * as daemonApi from '@nvmu/target';
import { startTestDaemon, type TestDaemon } from '@nvmu/test-kit/daemon';
import { perfMain } from '../src/cli.js';

let fixture: TestDaemon<daemonApi.RunningDaemon>;
let daemon: daemonApi.RunningDaemon;
beforeAll(async () => {
  fixture = await startTestDaemon(daemonApi, 'nvmu-perf-daemon-');
  daemon = fixture.daemon;
});
afterAll(async () => {
  await fixture.close();
});

it('runs randrw with --verify, two qpairs and -L against the daemon over NVMe/TCP, --json', async () => {
  const trid = `trtype:tcp adrfam:ipv4 traddr:127.0.0.1 trsvcid:${daemon.options.trsvcid} subnqn:${daemon.options.nqn}`;
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } };
  const code = await perfMain(['-r', trid, '-q', '8', '-o', '4096', '-w', 'randrw', '-M', '50', '-t', '120', '-P', '2', '--verify', '-L', '--io-count', '1500', '--json', '--no-progress'], io);
  expect(err.join('')).toBe('');
  expect(code).toBe(0);
  const j = JSON.parse(out.join('')) as {
    ok: boolean;
    namespaces: { name: string; ios: number; reads: number; writes: number; errors: number; verifyMismatches: number; histogram: unknown[]; latencyUs: { p999: number } }[];
    verify: { enabled: boolean; blocksChecked: number; mismatches: number };
    config: { qpairsPerNamespace: number };
  };
  expect(j.ok).toBe(true);
  expect(j.config.qpairsPerNamespace).toBe(2);
  expect(j.namespaces).toHaveLength(1);
  const ns = j.namespaces[0]!;
  expect(ns.name).toBe(`TCP (addr:127.0.0.1:${daemon.options.trsvcid} subnqn:${daemon.options.nqn}) NSID 1`);
  expect(ns.ios).toBe(1500);
  expect(ns.reads).toBeGreaterThan(0);
  expect(ns.writes).toBeGreaterThan(0);
  expect(ns.errors).toBe(0);
  expect(ns.verifyMismatches).toBe(0);
  expect(ns.histogram.length).toBeGreaterThan(0);
  expect(ns.latencyUs.p999).toBeGreaterThan(0);
  expect(j.verify).toMatchObject({ enabled: true, mismatches: 0 });
  expect(j.verify.blocksChecked).toBeGreaterThan(0);
  // perf shut its controller down: the daemon's subsystem has none left.
  expect(daemon.target.getStats().subsystems.find((s) => s.nqn === daemon.options.nqn)?.controllers).toBe(0);
});
