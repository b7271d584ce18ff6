import { HeaderFlags, IoFdType, IrqSetFlags, RegionInfoFlags } from './constants.js';
import type { VfioUserMessage } from './types.js';

const NONE: readonly number[] = Object.freeze([0]);
const NONE_OR_ONE: readonly number[] = Object.freeze([0, 1]);
const ONE: readonly number[] = Object.freeze([1]);

/**
 * How many file descriptors may travel with a message (SCM_RIGHTS on AF_UNIX), as the list
 * of allowed counts. A socket layer attaches that many when sending and checks the count it
 * collected when receiving (fdCountAllowed).
 *
 * - DMA_MAP request: 0 or 1 (the fd when the region is mappable; vfio-user §VFIO_USER_DMA_MAP).
 * - DMA_UNMAP request: 0, or 1 as SPDK's vfio-user host sends it (vfio_user_dev_dma_map_unmap()
 *   attaches the region's fd to the unmap too); the spec names none, libvfio-user closes any.
 * - DEVICE_SET_IRQS request with DATA_EVENTFD: `count`, or 0 for a run of -1 (de-assign;
 *   QEMU's client sends -1 runs without fds).
 * - DEVICE_GET_REGION_INFO reply with MMAP: 1 (the region's fd).
 * - DEVICE_GET_REGION_IO_FDS reply: max(fd_index) + 1 (shadow_mem_fd_index counts for
 *   libvfio-user's IOEVENTFD_SHADOW entries), 0 when no sub-region is present.
 * - VERSION reply with twin_socket.supported and fd_index: fd_index + 1.
 * - Everything else, and every error reply: 0.
 */
export function expectedFdCounts(msg: VfioUserMessage): readonly number[] {
  const reply = (msg.flags & HeaderFlags.TYPE_MASK) === HeaderFlags.TYPE_REPLY;
  if (reply && (msg.flags & HeaderFlags.ERROR) !== 0) return NONE;
  const body = msg.body;
  switch (body.kind) {
    case 'dma-map':
    case 'dma-unmap':
      return NONE_OR_ONE;
    case 'set-irqs':
      if ((body.flags & IrqSetFlags.DATA_EVENTFD) === 0 || body.count === 0) return NONE;
      return [0, body.count];
    case 'region-info':
      return (body.flags & RegionInfoFlags.MMAP) !== 0 ? ONE : NONE;
    case 'region-io-fds': {
      if (body.subRegions.length === 0) return NONE;
      let max = 0;
      for (const s of body.subRegions) {
        max = Math.max(max, s.fdIndex);
        // libvfio-user's shadow ioeventfds also send the shadow memory fd.
        if (s.type === IoFdType.IOEVENTFD_SHADOW) max = Math.max(max, s.shadowMemFdIndex);
      }
      return [max + 1];
    }
    case 'version': {
      const twin = body.data?.capabilities?.twin_socket;
      if (reply && twin?.supported === true && typeof twin.fd_index === 'number') return [twin.fd_index + 1];
      return NONE;
    }
    default:
      return NONE;
  }
}

/** True when `count` fds may accompany `msg` (see expectedFdCounts). */
export function fdCountAllowed(msg: VfioUserMessage, count: number): boolean {
  return expectedFdCounts(msg).includes(count);
}
