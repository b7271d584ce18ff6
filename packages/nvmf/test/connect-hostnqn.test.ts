/**
 * Connect's HOSTNQN (issue 12): a subsystem that allows any host accepts an empty or non-NQN
 * HOSTNQN (SPDK's initiator sends all zeros by default; nvmet and SPDK's target accept it) and
 * logs it once at warn with the peer; one with a host list refuses it with Connect Invalid Host.
 * Every refused Connect is logged with the field, its value, the peer and the status.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MallocBdev, Target, type TransportLogger } from '../src/index.js';
import { LOOP_ADDR, TestHost, TestTransport } from './harness.js';

const NQN = 'nqn.2026-11.io.nvmu:hostnqn-test';

interface Line {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

function capture(): { logger: TransportLogger; lines: Line[] } {
  const lines: Line[] = [];
  const at = (level: string) => (msg: string, fields: Record<string, unknown> = {}) => {
    lines.push({ level, msg, fields });
  };
  return { lines, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

let target: Target | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

async function setup(allowAnyHost: boolean): Promise<{ tr: TestTransport; lines: Line[] }> {
  const { logger, lines } = capture();
  target = new Target({ logger });
  const tr = new TestTransport();
  await target.addTransport(tr);
  const sub = target.createSubsystem({ nqn: NQN, allowAnyHost });
  if (!allowAnyHost) sub.addHost('nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555');
  const bdev = new MallocBdev({ name: 'Malloc0', blockSize: 512, numBlocks: 64 });
  target.addBdev(bdev);
  sub.addNamespace({ bdev, nsid: 1 });
  await sub.addListener(LOOP_ADDR);
  sub.start();
  return { tr, lines };
}

describe('Connect with an empty or non-NQN HOSTNQN', () => {
  it('is accepted where any host may connect, with one warning naming the peer', async () => {
    const { tr, lines } = await setup(true);
    for (const hostnqn of ['', 'not-an-nqn']) {
      const h = new TestHost(tr, NQN, hostnqn);
      const r = await h.connectAdmin();
      expect([r.sct, r.sc]).toEqual([0, 0]);
      // I/O queues of that host join its controller (same empty HOSTNQN).
      await h.enable();
      const { r: io } = await h.connectIo(1);
      expect([io.sct, io.sc]).toEqual([0, 0]);
      const warns = lines.filter((l) => l.level === 'warn' && l.fields.hostnqn === hostnqn);
      expect(warns).toHaveLength(1);
      expect(warns[0]?.fields.peer).toBe('peer0');
    }
  });

  it('is refused with Connect Invalid Host (and logged) by a subsystem with a host list', async () => {
    const { tr, lines } = await setup(false);
    const r = await new TestHost(tr, NQN, '').connectAdmin();
    expect([r.sct, r.sc, r.dw0]).toEqual([1, 0x84, (1 << 16) | 512]);
    const refused = lines.filter((l) => l.msg === 'connect refused');
    expect(refused).toHaveLength(1);
    expect(refused[0]?.level).toBe('warn');
    expect(refused[0]?.fields).toMatchObject({ field: 'hostnqn', value: '', peer: 'peer0', sct: 1, sc: '0x84' });
  });

  it('logs every refused Connect with the field, its value, the peer and the status', async () => {
    const { tr, lines } = await setup(true);
    const r = await new TestHost(tr, 'nqn.2026-11.io.nvmu:nope').connectAdmin();
    expect([r.sct, r.sc]).toEqual([1, 0x82]);
    const long = `nqn.2026-11.io.nvmu:${'x'.repeat(220)}`;
    const r2 = await new TestHost(tr, NQN, long).connectAdmin();
    expect([r2.sct, r2.sc, r2.dw0]).toEqual([1, 0x82, (1 << 16) | 512]);
    const refused = lines.filter((l) => l.msg === 'connect refused').map((l) => l.fields);
    expect(refused).toEqual([
      expect.objectContaining({ field: 'subnqn', value: 'nqn.2026-11.io.nvmu:nope', peer: 'peer0', sct: 1, sc: '0x82', reason: 'no such subsystem' }),
      expect.objectContaining({ field: 'hostnqn', value: long, peer: 'peer0', sct: 1, sc: '0x82' }),
    ]);
  });
});
