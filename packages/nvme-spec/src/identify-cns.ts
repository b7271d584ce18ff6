/**
 * What every Identify structure shares (NVMe Base 2.0 §5.17.2): its size, the CNS values that
 * select one, and the Command Set Identifier.
 */

/** Size of every Identify data structure. */
export const IDENTIFY_DATA_SIZE = 4096;

/** Controller or Namespace Structure (Identify CDW10 bits 7:0), NVMe Base 2.0 Figure 274. */
export const Cns = {
  Namespace: 0x00,
  Controller: 0x01,
  ActiveNamespaceList: 0x02,
  NamespaceIdDescriptorList: 0x03,
  NvmSetList: 0x04,
  IoCommandSetNamespace: 0x05,
  IoCommandSetController: 0x06,
  IoCommandSetActiveNamespaceList: 0x07,
  IoCommandSetIndependentNamespace: 0x08,
  AllocatedNamespaceList: 0x10,
  AllocatedNamespace: 0x11,
  NamespaceAttachedControllerList: 0x12,
  ControllerList: 0x13,
  PrimaryControllerCapabilities: 0x14,
  SecondaryControllerList: 0x15,
  UuidList: 0x17,
  IoCommandSet: 0x1c,
} as const;
export type Cns = (typeof Cns)[keyof typeof Cns];

/** Command Set Identifier (NVMe Base 2.0 Figure 286). */
export const Csi = {
  Nvm: 0x00,
  KeyValue: 0x01,
  Zoned: 0x02,
} as const;
export type Csi = (typeof Csi)[keyof typeof Csi];
