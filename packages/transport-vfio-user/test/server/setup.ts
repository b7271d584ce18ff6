import { afterEach } from 'vitest';

import type { DmaDataLayout } from '@nvmu/vfio-user-codec';

import { VfioUserServer, type VfioUserLogger, type VfioUserServerOptions } from '../../src/server.js';
import { TestClient, fakeDevice, tempDir } from './helpers.js';

export interface Harness {
  server: VfioUserServer;
  client: TestClient;
  dev: ReturnType<typeof fakeDevice>;
  dir: string;
  logs: string[];
}

const open: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

/** A server with the fake device in a temp folder, and a client connected (negotiated unless told not). */
export async function harness(opts: { negotiate?: boolean; dmaLayout?: DmaDataLayout; server?: Partial<VfioUserServerOptions> } = {}): Promise<Harness> {
  const dev = fakeDevice();
  const { dir, cleanup } = tempDir();
  const logs: string[] = [];
  const log: VfioUserLogger = (level, message) => logs.push(`${level}: ${message}`);
  const server = VfioUserServer.listen(dir, {
    device: dev.spec,
    hooks: (ctx) => {
      dev.context.current = ctx;
      return dev.hooks;
    },
    log,
    ...(opts.dmaLayout === undefined ? {} : { dmaLayout: opts.dmaLayout }),
    ...opts.server,
  });
  const client = TestClient.connect(server.socketPath!, opts.dmaLayout ?? 'qemu');
  open.push(async () => {
    client.close();
    await server.close();
    cleanup();
  });
  if (opts.negotiate !== false) await client.negotiate();
  return { server, client, dev, dir, logs };
}
