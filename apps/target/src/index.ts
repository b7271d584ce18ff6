// Placeholder until the daemon issue lands: the target core and NVMe/TCP are being built first.
export function main(): void {
  console.log('nvmu target daemon: not built yet. The daemon lands after @nvmu/nvmf and @nvmu/transport-tcp.');
}
