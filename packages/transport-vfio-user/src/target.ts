// @nvmu/transport-vfio-user/target: the NVMe controller on the vfio-user server, as a target
// transport for @nvmu/nvmf (owned by src/nvme/).
export {};
