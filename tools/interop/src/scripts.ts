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
  /**
   * fio --numjobs (default 1; a shell word such as `"$nvmu_nq"` works). Each job gets its own
   * `size` region (--offset_increment), so jobs never overwrite each other's verified blocks.
   */
  readonly numjobs?: number | string;
  /** Verify after this many blocks written (default 16; fewer for large blocks and short runs). */
  readonly verifyBacklog?: number;
  /** Name of the fio job (default nvmu-verify); also names its log /tmp/<name>.log. */
  readonly name?: string;
}

export interface PciNvmeControllerOptions {
  /** Seconds to wait for the driver to bind and the namespace to appear (default 30). */
  readonly waitS?: number;
  /** Shell variable that receives the controller name, e.g. nvme0 (default `ctrl`). */
  readonly ctrlVar?: string;
  /** Shell variable that receives the first namespace's block device (default `dev`). */
  readonly devVar?: string;
}

export interface PersistOptions {
  /** Block device (a shell word: `"$dev"` works). */
  readonly dev: string;
  /** Where the data lies on the device, in MiB (default 64; clear of the dd and fio regions). */
  readonly offsetMiB?: number;
  /** How much data, in MiB (default 4). A 4 KiB record follows it (tag, md5, size). */
  readonly sizeMiB?: number;
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
   * reading back and checking every 16 blocks written (`--verify_backlog`). Fails unless fio
   * succeeded and actually read data back. Prints fio's summary.
   */
  fioVerify(o: FioVerifyOptions): string {
    const name = o.name ?? 'nvmu-verify';
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`bad fio job name '${name}'`);
    const log = `/tmp/${name}.log`;
    const args = [
      'fio',
      `--name=${name}`,
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
      // 16 blocks (2 MiB at 128 KiB) so that even a target slowed by a loaded machine has read
      // back some of what it wrote before the runtime ends (64 x 128 KiB was the whole 8 MiB).
      `--verify_backlog=${o.verifyBacklog ?? 16}`,
      '--verify_fatal=1',
      '--group_reporting',
      '--eta=never',
      ...(o.numjobs === undefined ? [] : [`--numjobs=${o.numjobs}`, `--offset_increment=${o.size ?? '8M'}`]),
    ];
    return [
      `${args.join(' ')} > ${log} 2>&1; nvmu_rc=$?`,
      `cat ${log}`,
      `[ "$nvmu_rc" = 0 ] || nvmu_fail "fio verify on ${o.dev} (status $nvmu_rc)"`,
      // "issued rwts: total=<reads>,<writes>,…": verify reads count as reads.
      `grep -Eq 'issued rwts: total=[1-9]' ${log} || nvmu_fail "fio read nothing back to verify on ${o.dev}"`,
      `echo "fio verify passed${o.name === undefined ? '' : ` (${name})`}"`,
      '',
    ].join('\n');
  },

  /**
   * Finds a PCI NVMe controller (class 010802 under /sys/bus/pci/devices), loads the `nvme`
   * driver, waits until it is bound and its first namespace's block device exists. Stores the
   * controller name (nvme0) in `ctrlVar` and the block device (/dev/nvme0n1) in `devVar`.
   * Prints `PCI-NVME <bdf> <vendor>:<device>`, `BOUND <bdf> nvme <ctrl>` and
   * `NAMESPACE <ctrl> <dev>`.
   */
  pciNvmeController(o: PciNvmeControllerOptions = {}): string {
    const ctrl = o.ctrlVar ?? 'ctrl';
    const dev = o.devVar ?? 'dev';
    for (const v of [ctrl, dev]) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) throw new Error(`bad shell variable name '${v}'`);
    const waitS = o.waitS ?? 30;
    return [
      'nvmu_bdf=""',
      'for d in /sys/bus/pci/devices/*; do',
      '  [ "$(cat "$d/class")" = 0x010802 ] && { nvmu_bdf="$(basename "$d")"; break; }',
      'done',
      '[ -n "$nvmu_bdf" ] || nvmu_fail "no PCI device of class 010802 (NVMe) in /sys/bus/pci/devices"',
      'nvmu_pci=/sys/bus/pci/devices/$nvmu_bdf',
      'echo "PCI-NVME $nvmu_bdf $(cat $nvmu_pci/vendor):$(cat $nvmu_pci/device)"',
      'modprobe nvme || nvmu_fail "modprobe nvme"',
      // By the clock, not by rounds: under TCG on a busy machine every round is slow.
      `${ctrl}=""; ${dev}=""; nvmu_t0=$(cut -d. -f1 /proc/uptime)`,
      `while [ $(($(cut -d. -f1 /proc/uptime) - nvmu_t0)) -lt ${waitS} ]; do`,
      `  if [ -z "$${ctrl}" ] && [ "$(basename "$(readlink $nvmu_pci/driver 2>/dev/null)")" = nvme ]; then`,
      `    for c in $nvmu_pci/nvme/nvme*; do [ -e "$c" ] && ${ctrl}="$(basename "$c")"; done`,
      `    [ -n "$${ctrl}" ] && echo "BOUND $nvmu_bdf nvme $${ctrl}"`,
      '  fi',
      `  if [ -n "$${ctrl}" ]; then`,
      // A controller without CMIC multi-controller has its namespace disk under itself
      // (nvme0n1); with it, native multipath puts a head disk under the subsystem (nvme-subsysX)
      // and the controller's own path disk (nvme0c0n1) is hidden, without a device node.
      `    for b in /sys/class/nvme/$${ctrl}/nvme*n*; do [ -b "/dev/$(basename "$b")" ] && { ${dev}="/dev/$(basename "$b")"; break; }; done`,
      `    [ -n "$${dev}" ] && break`,
      `    ${dev}="$(nvmu_dev "$(cat /sys/class/nvme/$${ctrl}/subsysnqn)")" && [ -b "$${dev}" ] && break`,
      `    ${dev}=""`,
      '  fi',
      '  sleep 0.1',
      'done',
      `[ -n "$${ctrl}" ] || nvmu_fail "the nvme driver did not bind $nvmu_bdf"`,
      `[ -n "$${dev}" ] || nvmu_fail "no namespace block device for $${ctrl}"`,
      `echo "NAMESPACE $${ctrl} $${dev}"`,
      '',
    ].join('\n');
  },

  /**
   * `nvme list`, `nvme id-ctrl` of the controller and `nvme id-ns` of the namespace (shell words:
   * the controller's name, e.g. `"$ctrl"`, and the block device, e.g. `"$dev"`), each after a
   * `--- list` / `--- id-ctrl` / `--- id-ns` line, then `--- end`.
   */
  nvmeIdentify(ctrl = '"$ctrl"', dev = '"$dev"'): string {
    return [
      'echo "--- list"',
      'nvme list || nvmu_fail "nvme list"',
      'echo "--- id-ctrl"',
      `nvme id-ctrl /dev/${ctrl} || nvmu_fail "nvme id-ctrl"`,
      'echo "--- id-ns"',
      `nvme id-ns ${dev} || nvmu_fail "nvme id-ns"`,
      'echo "--- end"',
      '',
    ].join('\n');
  },

  /**
   * Prints `IRQS <label> <name> <count>` for each of the controller's MSI-X vectors in
   * /proc/interrupts (`nvme0q0` is the admin queue; `ctrl` is a shell word such as `"$ctrl"`),
   * the count summed over CPUs, and stores the number of I/O queue vectors (nvme0q1…) in
   * `$nvmu_nq`.
   */
  irqCounts(ctrl = '"$ctrl"', label = 'now'): string {
    if (!/^[A-Za-z0-9_-]+$/.test(label)) throw new Error(`bad label '${label}'`);
    return [
      // Header: CPU0 CPU1 …; a line: "IRQ: <one count per CPU> <chip> <hwirq> <name>".
      `awk -v c=${ctrl} 'NR == 1 { n = NF; next } $NF ~ ("^" c "q[0-9]+$") { s = 0; for (i = 2; i <= n + 1; i++) s += $i; print "IRQS ${label}", $NF, s }' /proc/interrupts > /tmp/nvmu-irqs`,
      'cat /tmp/nvmu-irqs',
      `nvmu_nq=$(grep -cE 'q[1-9][0-9]* [0-9]+$' /tmp/nvmu-irqs)`,
      '',
    ].join('\n');
  },

  /**
   * Writes `sizeMiB` of random data at `offsetMiB`, then a 4 KiB record after it
   * (`nvmu-persist <nonce> <md5> <sizeMiB>`), all O_DIRECT and fsync'd. Prints
   * `PERSIST-WRITTEN <md5>`.
   */
  persistWrite(o: PersistOptions): string {
    const off = o.offsetMiB ?? 64;
    const size = o.sizeMiB ?? 4;
    return [
      `dd if=/dev/urandom of=/tmp/nvmu-persist bs=1M count=${size} 2>/dev/null || nvmu_fail "make persist data"`,
      `nvmu_md5=$(md5sum < /tmp/nvmu-persist | cut -d' ' -f1)`,
      `dd if=/tmp/nvmu-persist of=${o.dev} bs=1M seek=${off} count=${size} oflag=direct conv=fsync 2>/dev/null || nvmu_fail "dd persist data to ${o.dev}"`,
      `{ printf 'nvmu-persist %s %s %s\\n' "$NVMU_NONCE" "$nvmu_md5" ${size}; dd if=/dev/zero bs=4096 count=1 2>/dev/null; } | head -c 4096 > /tmp/nvmu-persist-rec`,
      `dd if=/tmp/nvmu-persist-rec of=${o.dev} bs=4096 seek=${(off + size) * 256} count=1 oflag=direct conv=fsync 2>/dev/null || nvmu_fail "dd persist record to ${o.dev}"`,
      'rm -f /tmp/nvmu-persist /tmp/nvmu-persist-rec',
      'echo "PERSIST-WRITTEN $nvmu_md5"',
      '',
    ].join('\n');
  },

  /**
   * Reads back what persistWrite() left (in this boot, an earlier boot or an earlier guest):
   * the record, then the data, compared by md5. Prints `PERSIST-READ <md5> <nonce of the writer>`
   * and `persist check passed`.
   */
  persistCheck(o: PersistOptions): string {
    const off = o.offsetMiB ?? 64;
    const size = o.sizeMiB ?? 4;
    return [
      `nvmu_rec=$(dd if=${o.dev} bs=4096 skip=${(off + size) * 256} count=1 iflag=direct 2>/dev/null | head -n1 | tr -d '\\000')`,
      'set -- $nvmu_rec',
      '[ "$1" = nvmu-persist ] || nvmu_fail "no persist record on the device (found: $(echo "$nvmu_rec" | head -c 60))"',
      'nvmu_writer=$2; nvmu_want=$3',
      `nvmu_md5=$(dd if=${o.dev} bs=1M skip=${off} count=$4 iflag=direct 2>/dev/null | md5sum | cut -d' ' -f1)`,
      'echo "PERSIST-READ $nvmu_md5 $nvmu_writer"',
      '[ "$nvmu_md5" = "$nvmu_want" ] || nvmu_fail "persisted data differs: md5 $nvmu_md5, written $nvmu_want"',
      'echo "persist check passed"',
      '',
    ].join('\n');
  },

  /**
   * For a guest started with the `reboot` option: the first boot runs `before`, writes the
   * persist data and reboots (`reboot -f`: the kernel shuts the devices down, QEMU resets the
   * machine); the next boot (it finds the record this run wrote) prints `REBOOTED`, checks the
   * data and runs `after`. Put it after the blocks that set `dev`.
   */
  rebootOnce(o: PersistOptions & { readonly before?: string; readonly after?: string }): string {
    const off = o.offsetMiB ?? 64;
    const size = o.sizeMiB ?? 4;
    return [
      `nvmu_rec=$(dd if=${o.dev} bs=4096 skip=${(off + size) * 256} count=1 iflag=direct 2>/dev/null | head -n1 | tr -d '\\000')`,
      'case "$nvmu_rec" in',
      '"nvmu-persist $NVMU_NONCE "*)',
      'echo REBOOTED',
      guestScripts.persistCheck(o),
      o.after ?? '',
      ';;',
      '*)',
      o.before ?? '',
      guestScripts.persistWrite(o),
      'echo REBOOTING',
      'sync; reboot -f; sleep 30; nvmu_fail "still running after reboot -f"',
      ';;',
      'esac',
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
