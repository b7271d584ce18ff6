export {
  HEADER_SIZE,
  Command,
  commandName,
  HeaderFlags,
  Errno,
  errnoName,
  DmaMapFlags,
  DmaUnmapFlags,
  DeviceInfoFlags,
  RegionInfoFlags,
  RegionCapId,
  PciRegion,
  PciIrq,
  IoFdType,
  IrqInfoFlags,
  IrqSetFlags,
  DeviceFeatureFlags,
  DeviceFeature,
  MigrationFlags,
  DeviceState,
  CapabilityDefaults,
  WRITE_MULTI_DATA_SIZE,
  WRITE_MULTI_ENTRY_SIZE,
} from './constants.js';
export type { CommandName, CommandNumber, ErrnoName } from './constants.js';
export { VfioUserProtocolError } from './errors.js';
export type { ProtocolErrorCode } from './errors.js';
export { createHeader, decodeHeader, encodeHeader, headerMessageSize, isReply, isNoReply, isErrorReply } from './header.js';
export { decodeMessage } from './decode.js';
export { encodeMessage, encodeMessageInto, encodedLength, bodyLength, regionInfoReply, regionIoFdsReply } from './encode.js';
export { makeRequest, makeReply, makeErrorReply } from './messages.js';
export { expectedFdCounts, fdCountAllowed } from './fds.js';
export { VfioUserFramer, DATA_MESSAGE_OVERHEAD } from './framer.js';
export type { FramerOptions } from './framer.js';
export { parseVersionData, serializeVersionData, negotiatedLimits } from './version.js';
export type { NegotiatedLimits } from './version.js';
export {
  createRegionDataView,
  createDmaMapView,
  decodeRegionDataInto,
  decodeDmaMapInto,
  encodeRegionDataInto,
  encodeDmaMapInto,
} from './in-place.js';
export type { RegionDataView, DmaMapView } from './in-place.js';
export type * from './types.js';
