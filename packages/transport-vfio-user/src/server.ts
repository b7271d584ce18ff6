// @nvmu/transport-vfio-user/server: the device-agnostic vfio-user server (libvfio-user's role):
// socket and framing, VERSION negotiation, PCI config space, regions with sparse mmap areas,
// the DMA mapping table and IRQ eventfds. A device is a PciDeviceSpec plus DeviceHooks.
export { VfioUserErrnoError, DeviceErrno } from './server/device.js';
export type {
  RegionAccessHandler,
  MmapArea,
  BarSpec,
  MsixSpec,
  PciDeviceSpec,
  DmaRange,
  DeviceHooks,
  DmaSpace,
  DeviceContext,
} from './server/device.js';
export { VfioUserServer, SOCKET_NAME } from './server/server.js';
export type { VfioUserServerOptions } from './server/server.js';
export type { VfioUserLogger, VfioUserLogLevel } from './server/log.js';
export { PciCfg, PciCommand, PciStatus, PciCapId, MsixControl, CapOffset } from './server/pci-config.js';
export { DMA_PAGE_SIZE } from './server/dma.js';
