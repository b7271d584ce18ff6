import { afterEach, describe, expect, it } from 'vitest';
import { NvmeCommandError, connect } from '@nvmu/client';
import { pattern } from '@nvmu/test-kit';
import { LOOPBACK_NQN, loopbackClientFixture } from '@nvmu/test-kit/loopback';

const HOSTNQN = 'nqn.2014-08.org.nvmexpress:uuid:6c3b1f1e-1c1a-4b8e-9d5e-0a0b0c0d0e0f';
const f = loopbackClientFixture({ hostnqn: HOSTNQN });
afterEach(f.cleanup);

describe('bring-up through the loopback transport and the nvmf core', () => {
  it('connects, enables and identifies the controller', async () => {
    const c = await f.open();
    expect(c.state).toBe('ready');
    expect(c.cntlid).toBeGreaterThan(0);
    expect(c.cntlid).toBeLessThan(0xfff0);
    const id = await c.identifyController();
    expect(id.subnqn).toBe(LOOPBACK_NQN);
    expect(id.sn).toBe('NVMUCLIENT01');
    expect(id.mn).toBe('nvmu client test');
    expect(id.cntlid).toBe(c.cntlid);
    expect(id.cntrltype).toBe(1);
    expect(id.kas).toBeGreaterThan(0);
    expect(c.cap?.mqes).toBeGreaterThan(0);
    expect(c.vs).toBeGreaterThanOrEqual(0x00010300);
    expect(c.maxIoQueues).toBeGreaterThan(0);
    expect(c.maxTransferSize).toBeGreaterThan(0);
  });

  it('lists the namespace with its block size and size', async () => {
    const c = await f.open();
    expect(c.namespaces.map((n) => n.nsid)).toEqual([1]);
    const ns = c.namespaces[0]!;
    expect(ns.blockSize).toBe(512);
    expect(ns.blockCount).toBe(8192);
    expect(ns.size).toBe(8192 * 512);
    expect(c.namespace(1)).toBe(ns);
    // The core reports the bdev's UUID as NIDT 3h and NGUID as its bytes.
    const nsOnTarget = f.target.subsystem.getNamespace(1)!;
    expect(ns.uuid).toBe(nsOnTarget.uuid);
    expect(Buffer.from(ns.ids.nguid!).equals(Buffer.from(nsOnTarget.nguid))).toBe(true);
    expect(Buffer.from(ns.data.nguid).equals(Buffer.from(nsOnTarget.nguid))).toBe(true);
  });

  it('sends the host NQN it was given (the subsystem admits only that host)', async () => {
    const t = await f.start({ allowAnyHost: false });
    t.subsystem.addHost(HOSTNQN);
    const c = await f.open();
    expect(c.hostnqn).toBe(HOSTNQN);
    expect(c.hostid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const err = await f.open({ hostnqn: 'nqn.2014-08.org.nvmexpress:uuid:00000000-0000-0000-0000-00000000dead' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NvmeCommandError);
    const e = err as NvmeCommandError;
    expect(e.statusName).toBe('ConnectInvalidHost');
    expect(e.sct).toBe(1);
    expect(e.sc).toBe(0x84);
    expect(e.command.opcodeName).toBe('Fabrics.Connect');
    expect(e.command.qid).toBe(0);
  });

  it('takes the host identity from the transport ID keys too', async () => {
    const t = await f.start({ allowAnyHost: false });
    const hostnqn = 'nqn.2014-08.org.nvmexpress:uuid:12345678-9abc-4def-8123-456789abcdef';
    t.subsystem.addHost(hostnqn);
    const c = f.track(await connect(`${t.trid} hostnqn:${hostnqn} hostid:12345678-9abc-4def-8123-456789abcdef`, { reconnect: false }));
    expect(c.hostnqn).toBe(hostnqn);
    expect(c.hostid).toBe('12345678-9abc-4def-8123-456789abcdef');
  });

  it('gives two hosts two controllers on one subsystem that see each other\'s writes', async () => {
    const a = await f.open();
    const b = await f.open({ hostnqn: 'nqn.2014-08.org.nvmexpress:uuid:aaaaaaaa-1c1a-4b8e-9d5e-0a0b0c0d0e0f' });
    expect(a.cntlid).not.toBe(b.cntlid);
    const data = pattern(512, 77);
    await a.namespaces[0]!.write(5, data);
    expect(Buffer.from(await b.namespaces[0]!.read(5, 1)).equals(data)).toBe(true);
  });

  it('keeps data intact through write and read', async () => {
    const c = await f.open();
    const ns = c.namespaces[0]!;
    const data = pattern(4096, 7);
    await ns.write(16, data);
    expect(Buffer.from(await ns.read(16, 8)).equals(data)).toBe(true);
  });
});
