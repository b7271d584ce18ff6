import { HeaderFlags } from './constants.js';
import type { EmptyBody, MessageBody, VfioUserMessage } from './types.js';

/** A command message (type 0); `noReply` sets NO_REPLY (vfio-user §Header). */
export function makeRequest<B extends MessageBody>(
  msgId: number,
  command: number,
  body: B,
  options: { noReply?: boolean } = {},
): VfioUserMessage<B> {
  return { msgId, command, flags: options.noReply === true ? HeaderFlags.NO_REPLY : HeaderFlags.TYPE_COMMAND, errno: 0, body };
}

/** The reply to `request`: same message ID and command, type 1 (vfio-user §Header). */
export function makeReply<B extends MessageBody>(request: { msgId: number; command: number }, body: B): VfioUserMessage<B> {
  return { msgId: request.msgId, command: request.command, flags: HeaderFlags.TYPE_REPLY, errno: 0, body };
}

/** An error reply to `request`: header only, ERROR flag and the errno (vfio-user §Header). */
export function makeErrorReply(request: { msgId: number; command: number }, errno: number): VfioUserMessage<EmptyBody> {
  return {
    msgId: request.msgId,
    command: request.command,
    flags: HeaderFlags.TYPE_REPLY | HeaderFlags.ERROR,
    errno,
    body: { kind: 'empty' },
  };
}
