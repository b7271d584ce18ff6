// @nvmu/transport-vfio-user/target: the NVMe PCIe controller on the vfio-user server, as a
// target transport for @nvmu/nvmf (src/nvme/).
export {
  VfioUserTargetTransport,
  VFIO_USER_TRTYPE,
  VFIO_USER_DISCOVERY_TRTYPE,
  VFIO_USER_DISCOVERY_ADRFAM,
  vfioUserServerFactory,
} from './nvme/transport.js';
export type { VfioUserTargetTransportOptions, DeviceServerFactory, DeviceEndpoint, ServedDevice } from './nvme/transport.js';
export { NvmeController } from './nvme/controller.js';
export type { NvmeControllerConfig, NvmeControllerStats } from './nvme/controller.js';
export { NVME_PCI_IDS, BAR0, DSTRD, MAX_QUEUE_PAIRS, MSIX, nvmePciDeviceSpec, msixVectorsFor, type NvmePciOptions } from './nvme/pci-device.js';
export type { ArmResult, PollerOptions } from './nvme/poller.js';
