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
