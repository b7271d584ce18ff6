export { cpioNewc, type CpioEntry } from './cpio.js';
export {
  freePort,
  GuestError,
  parseForward,
  runGuest,
  startGuest,
  type GuestOptions,
  type GuestResult,
  type HostForward,
  type ResolvedForward,
  type RunningGuest,
} from './guest.js';
export { detectAccel, findKernel, interopSkipped, type Accel, type KernelImage } from './host.js';
export {
  AUTOLOAD_MODULES,
  buildInitramfs,
  DEFAULT_BINARIES,
  DEFAULT_MODULES,
  defaultCacheDir,
  type Initramfs,
  type InitramfsOptions,
} from './initramfs.js';
export {
  ioIrqTotal,
  parsePciNvmeFlow,
  PCI_NVME_FLOW_DONE,
  pciNvmeFlow,
  type IdFields,
  type PciNvmeFlowOptions,
  type PciNvmeFlowReport,
} from './pci-nvme.js';
export {
  cachedQemus,
  DEBIAN_FIRMWARE_DIRS,
  findVfioUserQemu,
  firmwareArgs,
  qemuCacheDir,
  qemuHasDevice,
  QemuNotFoundError,
  requireVfioUserQemu,
  vfioUserDeviceArgs,
} from './qemu.js';
export {
  guestScripts,
  shq,
  type FioVerifyOptions,
  type KernelHostFlowOptions,
  type NvmeConnectOptions,
  type NvmetTcpTargetOptions,
  type PciNvmeControllerOptions,
  type PersistOptions,
} from './scripts.js';
export { bootableKernel, kernelHasPvh } from './vmlinux.js';
export { cliMain, type CliIo } from './cli.js';
