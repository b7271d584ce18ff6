/**
 * Guest-side building blocks: functions that return shell text (busybox ash compatible) to put
 * into a guest script. Every value is shell-quoted; every block exits the script with status 1
 * and a message when a step fails, so a test sees where a flow broke.
 */
import { createHash } from 'node:crypto';

/** Quotes a string for the shell (single quotes). */
export function shq(s: string | number): string {
  return `'${String(s).replace(/'/g, `'\\''`)}'`;
}

export interface NvmetTcpTargetOptions {
  /** Subsystem NQN. */
  readonly nqn: string;
  /** TCP port (default 4420). */
  readonly port?: number;
  /**
   * Address to listen on (default 0.0.0.0). For a host-side client through a QEMU hostfwd it
   * must be 0.0.0.0 or 10.0.2.15: a target bound to the guest's 127.0.0.1 accepts and resets.
   */
  readonly addr?: string;
  /** Namespace size in MiB (default 64). */
  readonly sizeMiB?: number;
  /** Logical block size (default 512; null_blk only). */
  readonly blockSize?: 512 | 4096;
  /** Only this host may connect (default: any host). */
  readonly hostnqn?: string;
  /**
   * RAM backing of the namespace: `null_blk` (default; memory_backed=1, configured through
   * configfs) or `file` (a file in the guest's tmpfs, nvmet's file backend with buffered_io).
   */
  readonly backing?: 'null_blk' | 'file';
  /** Namespace ID (default 1). */
  readonly nsid?: number;
  /** nvmet port ID (default 1); a port already configured is reused. */
  readonly portId?: number;
  /** attr_serial of the subsystem (optional). */
  readonly serial?: string;
}

export interface NvmeConnectOptions {
  /** Target address (from the guest: 10.0.2.2 is the host's 127.0.0.1). */
  readonly addr: string;
  /** Target port (default 4420). */
  readonly port?: number;
  readonly nqn: string;
  readonly hostnqn?: string;
  readonly hostid?: string;
  /** Ask for header digests (`-g`). */
  readonly hdrDigest?: boolean;
  /** Ask for data digests (`-G`). */
  readonly dataDigest?: boolean;
  readonly nrIoQueues?: number;
  readonly queueSize?: number;
  /** More `nvme connect` arguments, passed as given (e.g. `--keep-alive-tmo=5`, `--ctrl-loss-tmo=0`). */
  readonly extraArgs?: readonly string[];
  /** Seconds to wait for the namespace's block device (default 20). */
  readonly waitS?: number;
  /** Shell variable that receives the block device path (default `dev`). */
  readonly devVar?: string;
}

export interface KernelHostFlowOptions extends NvmeConnectOptions {
  /** Run `nvme discover` first (default true). */
  readonly discover?: boolean;
  /** Print `nvme id-ctrl` and `nvme id-ns` (default false). */
  readonly identify?: boolean;
  /** MiB for the dd pattern check (default 4; 0 skips it). */
  readonly ddMiB?: number;
  /** fio verify settings (`dev` is the connected device), or false to skip it. */
  readonly fio?: Omit<FioVerifyOptions, 'dev'> | false;
}

export interface FioVerifyOptions {
  /** Block device (a shell word: `"$dev"` works). */
  readonly dev: string;
  /** Stop writing after this many seconds (default 2); what was written is verified. */
  readonly runtimeS?: number;
  /** Region size (default `8M`). */
  readonly size?: string;
  /** Block size (default `4k`). */
  readonly bs?: string;
  /** fio --rw (default randwrite). */
  readonly rw?: string;
  readonly iodepth?: number;
}

function tag(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 8);
}

/** Shell functions the other blocks use; `prelude()` puts them in a script once. */
const PRELUDE = String.raw`# --- nvmu guest helpers ---
nvmu_fail() { echo "FAIL: $*"; exit 1; }
# nvmu_dev NQN: prints the block device of the first namespace of subsystem NQN (native
# multipath: /dev/nvmeXnY where X is the subsystem instance).
nvmu_dev() {
  for s in /sys/class/nvme-subsystem/nvme-subsys*; do
    [ -r "$s/subsysnqn" ] || continue
    [ "$(cat "$s/subsysnqn")" = "$1" ] || continue
    for b in "$s"/nvme*n*; do
      [ -e "$b" ] && { echo "/dev/$(basename "$b")"; return 0; }
    done
  done
  return 1
}
# nvmu_wait_dev NQN SECONDS: waits for nvmu_dev NQN and for its device node.
nvmu_wait_dev() {
  i=0
  while [ "$i" -lt "$(($2 * 10))" ]; do
    d="$(nvmu_dev "$1")" && [ -b "$d" ] && { echo "$d"; return 0; }
    sleep 0.1; i=$((i + 1))
  done
  return 1
}
# --- end of nvmu guest helpers ---
`;

export const guestScripts = {
  /** The helper functions (nvmu_fail, nvmu_dev, nvmu_wait_dev); include once, first. */
  prelude(): string {
    return PRELUDE;
  },

  /**
   * Configures the kernel's nvmet-tcp target through configfs: a RAM-backed namespace in a
   * subsystem that any host (or only `hostnqn`) may connect to, on a TCP port.
   * Prints `nvmet-tcp target <nqn> on <addr>:<port> (<device>)` when done.
   */
  nvmetTcpTarget(o: NvmetTcpTargetOptions): string {
    const port = o.port ?? 4420;
    const addr = o.addr ?? '0.0.0.0';
    const sizeMiB = o.sizeMiB ?? 64;
    const nsid = o.nsid ?? 1;
    const portId = o.portId ?? 1;
    const backing = o.backing ?? 'null_blk';
    const t = tag(o.nqn, nsid);
    const cfs = '/sys/kernel/config/nvmet';
    const lines = [
      `# nvmet-tcp target ${o.nqn} on ${addr}:${port}`,
      `modprobe nvmet-tcp || nvmu_fail "modprobe nvmet-tcp"`,
      `nvmu_sub=${cfs}/subsystems/${shq(o.nqn)}`,
    ];
    if (backing === 'null_blk') {
      lines.push(
        // nr_devices=0: no default nullb0; devices come from configfs (null_blk main.c).
        `grep -q '^null_blk ' /proc/modules || modprobe null_blk nr_devices=0 || nvmu_fail "modprobe null_blk"`,
        `nvmu_nb=/sys/kernel/config/nullb/nvmu-${t}`,
        `mkdir "$nvmu_nb" || nvmu_fail "mkdir $nvmu_nb"`,
        `echo ${sizeMiB} > "$nvmu_nb/size" && echo 1 > "$nvmu_nb/memory_backed" && echo ${o.blockSize ?? 512} > "$nvmu_nb/blocksize" && echo 1 > "$nvmu_nb/power" || nvmu_fail "null_blk setup"`,
        // 6.1 names a configfs-made disk after its directory; older kernels nullb<index>.
        `nvmu_i=0; while [ $nvmu_i -lt 50 ]; do`,
        `  for nvmu_bdev in /dev/nvmu-${t} /dev/nullb$(cat "$nvmu_nb/index"); do [ -b "$nvmu_bdev" ] && break 2; done`,
        `  sleep 0.1; nvmu_i=$((nvmu_i + 1))`,
        `done`,
        `[ -b "$nvmu_bdev" ] || nvmu_fail "no $nvmu_bdev"`,
      );
    } else {
      lines.push(`nvmu_bdev=/tmp/nvmu-${t}.img`, `truncate -s ${sizeMiB}M "$nvmu_bdev" || nvmu_fail "truncate $nvmu_bdev"`);
    }
    lines.push(
      `mkdir "$nvmu_sub" || nvmu_fail "mkdir $nvmu_sub"`,
      o.serial === undefined ? '' : `echo ${shq(o.serial)} > "$nvmu_sub/attr_serial"`,
    );
    if (o.hostnqn === undefined) {
      lines.push(`echo 1 > "$nvmu_sub/attr_allow_any_host" || nvmu_fail "allow_any_host"`);
    } else {
      lines.push(
        `echo 0 > "$nvmu_sub/attr_allow_any_host"`,
        `[ -d ${cfs}/hosts/${shq(o.hostnqn)} ] || mkdir ${cfs}/hosts/${shq(o.hostnqn)} || nvmu_fail "mkdir host"`,
        `ln -s ${cfs}/hosts/${shq(o.hostnqn)} "$nvmu_sub/allowed_hosts/" || nvmu_fail "allowed_hosts"`,
      );
    }
    lines.push(
      `mkdir "$nvmu_sub/namespaces/${nsid}" || nvmu_fail "mkdir namespace ${nsid}"`,
      `printf '%s' "$nvmu_bdev" > "$nvmu_sub/namespaces/${nsid}/device_path" || nvmu_fail "device_path"`,
      // tmpfs has no O_DIRECT in 6.1: the file backend must use the page cache.
      backing === 'file' ? `echo 1 > "$nvmu_sub/namespaces/${nsid}/buffered_io" || nvmu_fail "buffered_io"` : '',
      `echo 1 > "$nvmu_sub/namespaces/${nsid}/enable" || nvmu_fail "enable namespace ${nsid}"`,
      `nvmu_port=${cfs}/ports/${portId}`,
      `if [ ! -d "$nvmu_port" ]; then`,
      `  mkdir "$nvmu_port" || nvmu_fail "mkdir port"`,
      `  echo ipv4 > "$nvmu_port/addr_adrfam" && echo tcp > "$nvmu_port/addr_trtype" && echo ${shq(addr)} > "$nvmu_port/addr_traddr" && echo ${port} > "$nvmu_port/addr_trsvcid" || nvmu_fail "port setup"`,
      `fi`,
      `ln -s "$nvmu_sub" "$nvmu_port/subsystems/" || nvmu_fail "link subsystem to port ${portId}"`,
      `echo "nvmet-tcp target ${o.nqn} on ${addr}:${port} ($nvmu_bdev)"`,
    );
    return `${lines.filter((l) => l !== '').join('\n')}\n`;
  },

  /**
   * `nvme connect` over TCP, then waits for the namespace's block device and stores its path in
   * the shell variable `devVar` (default `dev`).
   */
  nvmeConnect(o: NvmeConnectOptions): string {
    const args = ['nvme', 'connect', '-t', 'tcp', '-a', shq(o.addr), '-s', String(o.port ?? 4420), '-n', shq(o.nqn)];
    if (o.hostnqn !== undefined) args.push('--hostnqn', shq(o.hostnqn));
    if (o.hostid !== undefined) args.push('--hostid', shq(o.hostid));
    if (o.hdrDigest === true) args.push('-g');
    if (o.dataDigest === true) args.push('-G');
    if (o.nrIoQueues !== undefined) args.push('-i', String(o.nrIoQueues));
    if (o.queueSize !== undefined) args.push('-Q', String(o.queueSize));
    for (const a of o.extraArgs ?? []) args.push(shq(a));
    const v = o.devVar ?? 'dev';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) throw new Error(`bad shell variable name '${v}'`);
    return [
      `${args.join(' ')} || nvmu_fail "nvme connect ${o.nqn}"`,
      `${v}="$(nvmu_wait_dev ${shq(o.nqn)} ${o.waitS ?? 20})" || nvmu_fail "no block device for ${o.nqn}"`,
      `echo "connected ${o.nqn}: $${v}"`,
      '',
    ].join('\n');
  },

  /** `nvme discover` over TCP; prints the discovery log. */
  nvmeDiscover(o: { readonly addr: string; readonly port?: number; readonly hostnqn?: string }): string {
    const hostnqn = o.hostnqn === undefined ? '' : ` --hostnqn ${shq(o.hostnqn)}`;
    return `nvme discover -t tcp -a ${shq(o.addr)} -s ${o.port ?? 4420}${hostnqn} || nvmu_fail "nvme discover ${o.addr}:${o.port ?? 4420}"\n`;
  },

  /**
   * The whole kernel-host flow against one subsystem: [discover], connect, `nvme list`,
   * [id-ctrl / id-ns], dd pattern check, fio verify, disconnect. Prints `HOST-FLOW-DONE` at the
   * end. Include `prelude()` first.
   */
  kernelHostFlow(o: KernelHostFlowOptions): string {
    const dev = o.devVar ?? 'dev';
    const parts = [
      o.discover === false ? '' : guestScripts.nvmeDiscover(o),
      guestScripts.nvmeConnect(o),
      'nvme list || nvmu_fail "nvme list"\n',
      o.identify === true ? `nvme id-ctrl "$${dev}" && nvme id-ns "$${dev}" || nvmu_fail "identify"\n` : '',
      o.ddMiB === 0 ? '' : guestScripts.ddPatternCheck(`"$${dev}"`, o.ddMiB ?? 4),
      o.fio === false ? '' : guestScripts.fioVerify({ dev: `"$${dev}"`, ...o.fio }),
      guestScripts.nvmeDisconnect(o.nqn),
      'echo HOST-FLOW-DONE\n',
    ];
    return parts.join('');
  },

  /** `nvme disconnect -n NQN`. */
  nvmeDisconnect(nqn: string): string {
    return `nvme disconnect -n ${shq(nqn)} || nvmu_fail "nvme disconnect ${nqn}"\n`;
  },

  /**
   * Writes `sizeMiB` of random data to `dev` with O_DIRECT, reads it back with O_DIRECT and
   * compares. Prints `dd pattern check passed`.
   */
  ddPatternCheck(dev: string, sizeMiB = 4): string {
    return [
      `dd if=/dev/urandom of=/tmp/nvmu-pattern bs=1M count=${sizeMiB} 2>/dev/null || nvmu_fail "make pattern"`,
      `dd if=/tmp/nvmu-pattern of=${dev} bs=1M count=${sizeMiB} oflag=direct conv=fsync 2>/dev/null || nvmu_fail "dd write ${dev}"`,
      `dd if=${dev} of=/tmp/nvmu-readback bs=1M count=${sizeMiB} iflag=direct 2>/dev/null || nvmu_fail "dd read ${dev}"`,
      `cmp /tmp/nvmu-pattern /tmp/nvmu-readback || nvmu_fail "read-back differs from what was written"`,
      `rm -f /tmp/nvmu-pattern /tmp/nvmu-readback`,
      `echo "dd pattern check passed"`,
      '',
    ].join('\n');
  },

  /**
   * A short fio run with `--verify=crc32c` (libaio, O_DIRECT): writes for up to `runtimeS`,
   * reading back and checking every 64 blocks written (`--verify_backlog`). Fails unless fio
   * succeeded and actually read data back. Prints fio's summary.
   */
  fioVerify(o: FioVerifyOptions): string {
    const args = [
      'fio',
      '--name=nvmu-verify',
      `--filename=${o.dev}`,
      '--ioengine=libaio',
      '--direct=1',
      `--rw=${o.rw ?? 'randwrite'}`,
      `--bs=${o.bs ?? '4k'}`,
      `--size=${o.size ?? '8M'}`,
      `--iodepth=${o.iodepth ?? 8}`,
      `--runtime=${o.runtimeS ?? 2}`,
      '--verify=crc32c',
      '--do_verify=1',
      // Verify as it goes: when --runtime cuts the write phase short, fio skips the final
      // verify pass, so without a backlog a slow target would be "verified" with no reads.
      '--verify_backlog=64',
      '--verify_fatal=1',
      '--group_reporting',
      '--eta=never',
    ];
    return [
      `${args.join(' ')} > /tmp/nvmu-fio.log 2>&1; nvmu_rc=$?`,
      'cat /tmp/nvmu-fio.log',
      `[ "$nvmu_rc" = 0 ] || nvmu_fail "fio verify on ${o.dev} (status $nvmu_rc)"`,
      // "issued rwts: total=<reads>,<writes>,…": verify reads count as reads.
      `grep -Eq 'issued rwts: total=[1-9]' /tmp/nvmu-fio.log || nvmu_fail "fio read nothing back to verify on ${o.dev}"`,
      'echo "fio verify passed"',
      '',
    ].join('\n');
  },

  /** Prints a line the host waits for (`guest.waitFor(/^READY$/m)`). */
  ready(marker = 'READY'): string {
    return `echo ${shq(marker)}\n`;
  },

  /**
   * Blocks until the host sends a line (`guest.send('...\n')`), stored in `$nvmu_host_line`:
   * keeps the guest (and its target) up while host-side code runs.
   */
  waitForHost(): string {
    return `read -r nvmu_host_line || true\n`;
  },
};
