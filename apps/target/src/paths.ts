/**
 * Where the daemon keeps its sockets: the run folder `$NVMU_RUN_DIR`, else
 * `$XDG_RUNTIME_DIR/nvmu`, else `<tmpdir>/nvmu-<uid>` (the fallback where no session runtime
 * folder exists, e.g. as root without a login session). `nvmu rpc` looks in the same place.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function defaultRunDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NVMU_RUN_DIR !== undefined && env.NVMU_RUN_DIR !== '') return env.NVMU_RUN_DIR;
  if (env.XDG_RUNTIME_DIR !== undefined && env.XDG_RUNTIME_DIR !== '') return join(env.XDG_RUNTIME_DIR, 'nvmu');
  return join(tmpdir(), `nvmu-${process.getuid?.() ?? 'user'}`);
}

/** The JSON-RPC socket's default path: `nvmu.sock` in the run folder. */
export function defaultRpcSocket(env: NodeJS.ProcessEnv = process.env): string {
  return join(defaultRunDir(env), 'nvmu.sock');
}
