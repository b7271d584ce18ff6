import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UUID_NQN_PREFIX, loadHostIdentity, uuidFromMachineId } from '../src/hostid.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nvmu-hostid-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('host identity', () => {
  it('uses /etc/nvme/hostnqn and hostid when present', async () => {
    await writeFile(join(dir, 'hostnqn'), 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555\n');
    await writeFile(join(dir, 'hostid'), '11111111-2222-3333-4444-555555555555\n');
    const id = await loadHostIdentity({ nvmeDir: dir, machineIdFile: join(dir, 'none'), configFile: join(dir, 'cfg') });
    expect(id).toEqual({ hostnqn: 'nqn.2014-08.org.nvmexpress:uuid:11111111-2222-3333-4444-555555555555', hostid: '11111111-2222-3333-4444-555555555555' });
  });
  it('derives a stable UUID from machine-id without exposing it', async () => {
    const mid = join(dir, 'machine-id');
    await writeFile(mid, '0123456789abcdef0123456789abcdef\n');
    const a = await loadHostIdentity({ nvmeDir: join(dir, 'none'), machineIdFile: mid });
    const b = await loadHostIdentity({ nvmeDir: join(dir, 'none'), machineIdFile: mid });
    expect(a).toEqual(b);
    expect(a.hostid).toBe(uuidFromMachineId('0123456789abcdef0123456789abcdef'));
    expect(a.hostid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.hostid.replaceAll('-', '')).not.toBe('0123456789abcdef0123456789abcdef');
    expect(a.hostnqn).toBe(`${UUID_NQN_PREFIX}${a.hostid}`);
    expect(uuidFromMachineId('other')).not.toBe(a.hostid);
  });
  it('falls back to a random UUID stored in the config file, reused next time', async () => {
    const cfg = join(dir, 'sub', 'hostid');
    const a = await loadHostIdentity({ nvmeDir: join(dir, 'none'), machineIdFile: join(dir, 'none'), configFile: cfg });
    expect((await readFile(cfg, 'utf8')).trim()).toBe(a.hostid);
    const b = await loadHostIdentity({ nvmeDir: join(dir, 'none'), machineIdFile: join(dir, 'none'), configFile: cfg });
    expect(b).toEqual(a);
  });
});
