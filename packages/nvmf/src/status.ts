/**
 * Packed 15-bit statuses the core returns (SCT bits 10:8, SC bits 7:0, DNR bit 14), computed once.
 * A command handler returns one of these, or `PENDING` when it completes the request later.
 */
import {
  CommandSpecificStatus as CS,
  FabricsStatus as FS,
  GenericStatus as G,
  MediaStatus as M,
  PathStatus as P,
  StatusCodeType as SCT,
  makeStatus,
} from '@nvmu/nvme-spec';

/** Returned by a handler that will complete the request itself (asynchronous execution). */
export const PENDING = -1;

const gen = (sc: number, dnr = true): number => makeStatus(SCT.Generic, sc, dnr);
const spec = (sc: number, dnr = true): number => makeStatus(SCT.CommandSpecific, sc, dnr);

/** The packed statuses command handlers return, by name (a status is a number on the hot path). */
export const CommandStatus = {
  Success: 0,
  InvalidOpcode: gen(G.InvalidOpcode),
  InvalidField: gen(G.InvalidField),
  CommandIdConflict: gen(G.CommandIdConflict),
  DataTransferError: gen(G.DataTransferError),
  InternalError: gen(G.InternalError, false),
  AbortedByRequest: gen(G.AbortedByRequest, false),
  AbortedSqDeletion: gen(G.AbortedSqDeletion, false),
  InvalidNamespaceOrFormat: gen(G.InvalidNamespaceOrFormat),
  CommandSequenceError: gen(G.CommandSequenceError),
  DataSglLengthInvalid: gen(G.DataSglLengthInvalid),
  SglDescriptorTypeInvalid: gen(G.SglDescriptorTypeInvalid),
  LbaOutOfRange: gen(G.LbaOutOfRange),
  /** Without DNR: the host may retry once the namespace is ready again. */
  NamespaceNotReady: gen(G.NamespaceNotReady, false),
  InvalidLogPage: spec(CS.InvalidLogPage),
  InvalidQueueIdentifier: spec(CS.InvalidQueueIdentifier),
  InvalidQueueSize: spec(CS.InvalidQueueSize),
  AsyncEventRequestLimitExceeded: spec(CS.AsyncEventRequestLimitExceeded),
  FeatureIdNotSaveable: spec(CS.FeatureIdNotSaveable),
  FeatureNotChangeable: spec(CS.FeatureNotChangeable),
  FeatureNotNamespaceSpecific: spec(CS.FeatureNotNamespaceSpecific),
  ConnectIncompatibleFormat: spec(FS.ConnectIncompatibleFormat),
  ConnectControllerBusy: spec(FS.ConnectControllerBusy),
  ConnectInvalidParameters: spec(FS.ConnectInvalidParameters),
  ConnectInvalidHost: spec(FS.ConnectInvalidHost),
  /** Invalid Queue Type (NVMe-oF 1.1 Figure 13, Linux NVME_SC_DISCONNECT_INVALID_QTYPE): a Disconnect on the admin queue. */
  InvalidQueueType: spec(FS.InvalidQueueType),
  CompareFailure: makeStatus(SCT.MediaError, M.CompareFailure, true),
  /** Path errors for ANA states (NVMe Base 2.0 §8.1.3.4): the host retries on another path. */
  AnaPersistentLoss: makeStatus(SCT.Path, P.AsymmetricAccessPersistentLoss, false),
  AnaInaccessible: makeStatus(SCT.Path, P.AsymmetricAccessInaccessible, false),
  AnaTransition: makeStatus(SCT.Path, P.AsymmetricAccessTransition, false),
} as const;
