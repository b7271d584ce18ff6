/**
 * The target in a child process (this package's sources compiled into a private folder, +
 * @nvmu/nvmf), the client here: nothing is shared but the TCP connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { connect } from '@nvmu/client';

import '../src/host.js';
import { startTargetChild, type TargetChild } from './helpers/child.js';
import { pattern } from './helpers/raw.js';
import { NQN } from './helpers/target.js';

let target: TargetChild;
let port: number;

beforeAll(async () => {
  target = await startTargetChild();
  port = target.port;
}, 60_000);

afterAll(async () => {
  await target.stop();
});

describe('target in another process', () => {
  it('connects, writes and reads back across processes with digests, then disconnects', async () => {
    for (const extra of ['', ' hdgst:1 ddgst:1']) {
      const c = await connect(`trtype:tcp traddr:127.0.0.1 trsvcid:${port} subnqn:${NQN}${extra}`, { reconnect: false });
      const ns = c.namespaces[0]!;
      const jobs = Array.from({ length: 32 }, async (_, i) => {
        const data = pattern(4096 * ((i % 8) + 1), i + extra.length);
        await ns.write(i * 64, data);
        const back = await ns.read(i * 64, data.length / 512);
        expect(Buffer.from(back).equals(data)).toBe(true);
      });
      await Promise.all(jobs);
      await c.close();
    }
  });
});
