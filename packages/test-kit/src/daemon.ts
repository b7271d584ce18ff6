/**
 * The nvmu target daemon for tools' tests: `startDaemon` of @nvmu/target with its default setup
 * (a file-backed namespace of 4 MiB over NVMe/TCP on a free port, discovery on the same listener,
 * the JSON-RPC socket) in a fresh temporary folder, silent.
 *
 * The caller passes @nvmu/target's module (`import * as daemonApi from '@nvmu/target'`): the kit
 * takes no dependency on the daemon (whose own tests use the kit), and the daemon's real types
 * are checked where the fixture is called.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger, type TransportLogger } from '@nvmu/nvmf';
import { freePort } from './ports.js';

/** The fields of the daemon's options this fixture sets. */
export interface DaemonFixtureOptions {
  dataDir: string;
  rpcSocket: string;
  trsvcid: string;
  sizeBytes?: number | undefined;
}

/** What the fixture uses of @nvmu/target. */
export interface DaemonApi<O extends DaemonFixtureOptions, D extends { stop(): Promise<void> }> {
  readonly DEFAULTS: O;
  startDaemon(options: O, logger: TransportLogger): Promise<D>;
}

export interface TestDaemon<D> {
  readonly daemon: D;
  /** The temporary folder (images under `data/`, the RPC socket). */
  readonly dir: string;
  readonly rpcSocket: string;
  /** NVMe/TCP port on 127.0.0.1, as a transport ID's `trsvcid`. */
  readonly trsvcid: string;
  /** Stops the daemon and removes the folder. */
  close(): Promise<void>;
}

/** Starts the daemon's default setup in a new temporary folder named after `prefix`. */
export async function startTestDaemon<O extends DaemonFixtureOptions, D extends { stop(): Promise<void> }>(
  api: DaemonApi<O, D>,
  prefix = 'nvmu-daemon-',
): Promise<TestDaemon<D>> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const rpcSocket = join(dir, 'rpc.sock');
  const trsvcid = String(await freePort());
  const daemon = await api.startDaemon({ ...api.DEFAULTS, dataDir: join(dir, 'data'), rpcSocket, trsvcid, sizeBytes: 4 << 20 }, silentLogger);
  return {
    daemon,
    dir,
    rpcSocket,
    trsvcid,
    async close() {
      await daemon.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
