/**
 * The NVMe controller over the real vfio-user server and socket, driven by the server layer's
 * test client as QEMU would drive it: VERSION, DMA_MAP of a memfd (shared guest RAM) or of
 * memory without an fd (DMA_READ / DMA_WRITE), BAR0 by REGION_READ / REGION_WRITE, the doorbell
 * page mmapped from the BAR's fd.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ftruncate, memfdCreate, mmap, munmap, closeFd } from '@nvmu/native';
import { Command, DmaMapFlags, HeaderFlags } from '@nvmu/vfio-user-codec';
import { afterEach, describe, expect, it } from 'vitest';
import { VfioUserTargetTransport } from '../../src/target.js';
import { TestClient, tempDir } from '../server/helpers.js';
import { startVfioUserTarget } from '../target.js';

const RAM = 4 * 1024 * 1024;
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A socket-level NVMe driver: registers by message, queues in the client's RAM. */
class SocketGuest {
  readonly client: TestClient;
  readonly ram: Buffer;
  private next = 0x10000;
  private cid = 1;
  private readonly q = new Map<number, { size: number; sq: number; cq: number; tail: number; head: number; phase: number }>();
  /** The mmapped doorbell page, when the test maps it. */
  doorbells: Buffer | undefined;

  constructor(client: TestClient, ram: Buffer) {
    this.client = client;
    this.ram = ram;
  }

  alloc(bytes: number): number {
    const a = this.next;
    this.next += Math.ceil(bytes / 4096) * 4096;
    this.ram.fill(0, a, a + bytes);
    return a;
  }

  async read32(offset: number): Promise<number> {
    const r = await this.client.request(Command.REGION_READ, { kind: 'region-access', offset: BigInt(offset), region: 0, count: 4 });
    if ((r.msg.flags & HeaderFlags.ERROR) !== 0 || r.msg.body.kind !== 'region-data') throw new Error(`REGION_READ ${offset} failed`);
    return Buffer.from(r.msg.body.data).readUInt32LE(0);
  }

  async write32(offset: number, v: number): Promise<void> {
    const data = Buffer.alloc(4);
    data.writeUInt32LE(v >>> 0, 0);
    const r = await this.client.request(Command.REGION_WRITE, { kind: 'region-data', offset: BigInt(offset), region: 0, data });
    if ((r.msg.flags & HeaderFlags.ERROR) !== 0) throw new Error(`REGION_WRITE ${offset} failed`);
  }

  async doorbell(qid: number, cq: boolean, v: number): Promise<void> {
    const off = 0x1000 + (2 * qid + (cq ? 1 : 0)) * 4;
    if (this.doorbells !== undefined) this.doorbells.writeUInt32LE(v, off - 0x1000);
    else await this.write32(off, v);
  }

  async enable(): Promise<number> {
    const sq = this.alloc(32 * 64);
    const cq = this.alloc(32 * 16);
    await this.write32(0x24, (31 << 16) | 31);
    await this.write32(0x28, sq);
    await this.write32(0x2c, 0);
    await this.write32(0x30, cq);
    await this.write32(0x34, 0);
    this.q.set(0, { size: 32, sq, cq, tail: 0, head: 0, phase: 1 });
    await this.write32(0x14, 1 | (6 << 16) | (4 << 20));
    return this.read32(0x1c);
  }

  async cmd(qid: number, fill: (s: DataView) => void): Promise<{ status: number; dw0: number }> {
    const q = this.q.get(qid);
    if (q === undefined) throw new Error(`no queue ${qid}`);
    const cid = this.cid++;
    const off = q.sq + q.tail * 64;
    this.ram.fill(0, off, off + 64);
    const dv = new DataView(this.ram.buffer, this.ram.byteOffset + off, 64);
    fill(dv);
    dv.setUint16(2, cid, true);
    q.tail = (q.tail + 1) % q.size;
    await this.doorbell(qid, false, q.tail);
    for (let i = 0; i < 2000; i++) {
      const c = q.cq + q.head * 16;
      const dw3 = this.ram.readUInt32LE(c + 12);
      if (((dw3 >>> 16) & 1) === q.phase) {
        q.head = (q.head + 1) % q.size;
        if (q.head === 0) q.phase ^= 1;
        await this.doorbell(qid, true, q.head);
        if ((dw3 & 0xffff) !== cid) throw new Error(`CQE for cid ${dw3 & 0xffff}, expected ${cid}`);
        return { status: (dw3 >>> 17) & 0x7fff, dw0: this.ram.readUInt32LE(c) };
      }
      await new Promise((r) => setTimeout(r, i < 20 ? 0 : 2));
    }
    throw new Error(`no completion for cid ${cid}`);
  }

  async createIoQueue(qid: number, size: number): Promise<void> {
    const cq = this.alloc(size * 16);
    const sq = this.alloc(size * 64);
    const a = await this.cmd(0, (s) => {
      s.setUint8(0, 0x05);
      s.setUint32(24, cq, true);
      s.setUint32(40, ((size - 1) << 16) | qid, true);
      s.setUint32(44, (qid << 16) | 3, true);
    });
    const b = await this.cmd(0, (s) => {
      s.setUint8(0, 0x01);
      s.setUint32(24, sq, true);
      s.setUint32(40, ((size - 1) << 16) | qid, true);
      s.setUint32(44, (qid << 16) | 1, true);
    });
    expect([a.status, b.status]).toEqual([0, 0]);
    this.q.set(qid, { size, sq, cq, tail: 0, head: 0, phase: 1 });
  }

  rw(qid: number, write: boolean, slba: number, nlb: number, prp1: number, prp2 = 0): Promise<{ status: number }> {
    return this.cmd(qid, (s) => {
      s.setUint8(0, write ? 0x01 : 0x02);
      s.setUint32(4, 1, true);
      s.setUint32(24, prp1, true);
      s.setUint32(32, prp2, true);
      s.setUint32(40, slba, true);
      s.setUint32(48, nlb - 1, true);
    });
  }
}

async function start(): Promise<{ dir: string; transport: VfioUserTargetTransport }> {
  const transport = new VfioUserTargetTransport();
  const dir = await startVfioUserTarget(transport, { blocks: 4096 }, cleanups);
  return { dir, transport };
}

async function connectClient(dir: string): Promise<TestClient> {
  const client = TestClient.connect(`${dir}/cntrl`);
  cleanups.push(() => {
    client.close();
  });
  await client.negotiate();
  return client;
}

async function exercise(g: SocketGuest): Promise<void> {
  expect((await g.enable()) & 3).toBe(1);
  const id = g.alloc(4096);
  const ident = await g.cmd(0, (s) => {
    s.setUint8(0, 0x06);
    s.setUint32(24, id, true);
    s.setUint32(40, 1, true);
  });
  expect(ident.status).toBe(0);
  expect(g.ram.readUInt32LE(id + 536)).toBe(0); // SGLS: PRPs only
  await g.createIoQueue(1, 16);
  const data = g.alloc(8192);
  for (let i = 0; i < 8192; i++) g.ram[data + i] = (i * 31) & 0xff;
  expect((await g.rw(1, true, 10, 16, data, data + 4096)).status).toBe(0);
  const back = g.alloc(8192);
  expect((await g.rw(1, false, 10, 16, back + 512, back + 4096)).status).toBe(0);
  expect(Buffer.compare(g.ram.subarray(data, data + 3584), g.ram.subarray(back + 512, back + 4096))).toBe(0);
  expect((await g.write32(0x14, 0), await g.read32(0x1c)) & 1).toBe(0);
}

describe('over the vfio-user socket', () => {
  it('serves QEMU-style shared guest RAM (DMA_MAP with a memfd), doorbells by REGION_WRITE', async () => {
    const { dir, transport } = await start();
    const client = await connectClient(dir);
    const fd = memfdCreate('nvmu-test-guest');
    ftruncate(fd, RAM);
    const ab = mmap(fd, 0, RAM);
    cleanups.push(() => {
      munmap(ab);
    });
    const map = await client.request(Command.DMA_MAP, { kind: 'dma-map', flags: DmaMapFlags.READ | DmaMapFlags.WRITE, offset: 0n, address: 0n, size: BigInt(RAM) }, [fd]);
    closeFd(fd);
    expect(map.msg.flags & HeaderFlags.ERROR).toBe(0);
    const g = new SocketGuest(client, Buffer.from(ab));
    await exercise(g);
    expect(transport.stats(dir)?.doorbellMessages).toBeGreaterThan(0);
    expect(transport.stats(dir)?.slowCommands).toBe(0);
  });

  it('serves guest RAM without an fd through DMA_READ / DMA_WRITE', async () => {
    const { dir, transport } = await start();
    const client = await connectClient(dir);
    const ram = Buffer.alloc(RAM);
    client.memory = { base: 0, bytes: ram };
    const map = await client.request(Command.DMA_MAP, { kind: 'dma-map', flags: DmaMapFlags.READ | DmaMapFlags.WRITE, offset: 0n, address: 0n, size: BigInt(RAM) });
    expect(map.msg.flags & HeaderFlags.ERROR).toBe(0);
    const g = new SocketGuest(client, ram);
    await exercise(g);
    expect(transport.stats(dir)?.slowCommands).toBeGreaterThan(0);
    expect(client.dmaRequests.length).toBeGreaterThan(0);
  });
});

describe('scripts/serve-file.mjs (dist/bin/serve-file.js) in a child process', () => {
  it('serves a file-backed namespace at a socket directory; the doorbell page is mmapped from BAR0', async () => {
    const pkg = fileURLToPath(new URL('../..', import.meta.url));
    // The child runs the compiled package: build it first.
    const b = spawnSync(process.execPath, [join(pkg, '../../node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: pkg, encoding: 'utf8' });
    expect(b.status, b.stdout + b.stderr).toBe(0);
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const child = spawn(process.execPath, [join(pkg, 'scripts/serve-file.mjs'), '--socket-dir', join(dir, 'ep'), '--file', join(dir, 'ns0.img'), '--size-mib', '8', '--serial', 'NVMU-T'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    cleanups.push(() => {
      child.kill('SIGKILL');
    });
    const lines = createInterface({ input: child.stdout });
    const [ready] = (await once(lines, 'line')) as [string];
    expect(ready).toBe(`READY ${join(dir, 'ep')}/cntrl`);
    const client = await connectClient(join(dir, 'ep'));
    const fd = memfdCreate('nvmu-test-guest');
    ftruncate(fd, RAM);
    const ab = mmap(fd, 0, RAM);
    await client.request(Command.DMA_MAP, { kind: 'dma-map', flags: DmaMapFlags.READ | DmaMapFlags.WRITE, offset: 0n, address: 0n, size: BigInt(RAM) }, [fd]);
    closeFd(fd);
    const info = await client.request(Command.DEVICE_GET_REGION_INFO, { kind: 'region-info-request', argsz: 256, flags: 0, index: 0, capOffset: 0, size: 0n, offset: 0n });
    if (info.msg.body.kind !== 'region-info') throw new Error('no region info');
    const barFd = info.fds[0];
    if (barFd === undefined) throw new Error('BAR0 came without an fd');
    const bar = mmap(barFd, Number(info.msg.body.offset) + 0x1000, 4096);
    closeFd(barFd);
    const g = new SocketGuest(client, Buffer.from(ab));
    g.doorbells = Buffer.from(bar);
    await exercise(g);
    munmap(bar);
    munmap(ab);
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  }, 60_000);
});
