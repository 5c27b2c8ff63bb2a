// A classic-BPF seccomp program, assembled here so the sandbox needs no native library. bwrap loads it
// from a file descriptor (`--seccomp FD`) just before it executes the sandboxed command.
//
// Layout of `struct seccomp_data` (little-endian on both supported architectures):
//   nr: u32 @0, arch: u32 @4, instruction_pointer: u64 @8, args[6]: u64 @16 + 8*i (low half first).

type Arch = "x64" | "arm64";

const AUDIT_ARCH: Record<Arch, number> = { x64: 0xc000003e, arm64: 0xc00000b7 };

// Syscall numbers from <asm/unistd_64.h> (x86_64) and <asm-generic/unistd.h> (aarch64).
// From 424 on, a system call has one number on every architecture.
const UNIFIED_SYSCALLS = {
  io_uring_setup: 425,
  io_uring_enter: 426,
  io_uring_register: 427,
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
  clone3: 435,
  mount_setattr: 442,
};

const SYSCALLS: Record<Arch, Record<string, number>> = {
  x64: {
    ioctl: 16,
    socket: 41,
    socketpair: 53,
    clone: 56,
    ptrace: 101,
    syslog: 103,
    uselib: 134,
    modify_ldt: 154,
    pivot_root: 155,
    chroot: 161,
    acct: 163,
    mount: 165,
    umount2: 166,
    init_module: 175,
    delete_module: 176,
    quotactl: 179,
    mbind: 237,
    set_mempolicy: 238,
    get_mempolicy: 239,
    kexec_load: 246,
    add_key: 248,
    request_key: 249,
    keyctl: 250,
    migrate_pages: 256,
    unshare: 272,
    move_pages: 279,
    perf_event_open: 298,
    setns: 308,
    process_vm_readv: 310,
    process_vm_writev: 311,
    finit_module: 313,
    kexec_file_load: 320,
    bpf: 321,
    userfaultfd: 323,
    ...UNIFIED_SYSCALLS,
    shmget: 29,
    msgget: 68,
    personality: 135,
    fallocate: 285,
    name_to_handle_at: 303,
    open_by_handle_at: 304,
    kcmp: 312,
    memfd_create: 319,
    pidfd_getfd: 438,
    memfd_secret: 447,
    inotify_init: 253,
    inotify_add_watch: 254,
    inotify_init1: 294,
    fanotify_init: 300,
    fanotify_mark: 301,
    ioprio_set: 251,
    open_tree_attr: 467,
  },
  arm64: {
    ioctl: 29,
    umount2: 39,
    mount: 40,
    pivot_root: 41,
    fallocate: 47,
    chroot: 51,
    quotactl: 60,
    acct: 89,
    unshare: 97,
    kexec_load: 104,
    init_module: 105,
    delete_module: 106,
    syslog: 116,
    ptrace: 117,
    socket: 198,
    socketpair: 199,
    add_key: 217,
    request_key: 218,
    keyctl: 219,
    clone: 220,
    mbind: 235,
    get_mempolicy: 236,
    set_mempolicy: 237,
    migrate_pages: 238,
    move_pages: 239,
    perf_event_open: 241,
    setns: 268,
    process_vm_readv: 270,
    process_vm_writev: 271,
    finit_module: 273,
    bpf: 280,
    userfaultfd: 282,
    kexec_file_load: 294,
    ...UNIFIED_SYSCALLS,
    personality: 92,
    msgget: 186,
    shmget: 194,
    name_to_handle_at: 264,
    open_by_handle_at: 265,
    kcmp: 272,
    memfd_create: 279,
    pidfd_getfd: 438,
    memfd_secret: 447,
    inotify_init1: 26,
    inotify_add_watch: 27,
    fanotify_init: 262,
    fanotify_mark: 263,
    ioprio_set: 30,
    open_tree_attr: 467,
  },
};

/**
 * Syscalls refused with EPERM: privilege, namespaces, mounts, tracing and taking another process's descriptors,
 * file handles, kernel keyring, modules, NUMA, and fanotify (unprivileged fanotify with FAN_REPORT_FID may mark
 * any inode it can read, so a sandbox could watch the host run the programs of the /usr it shares).
 */
export const DENIED_WITH_EPERM = [
  "fanotify_init",
  "fanotify_mark",
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "perf_event_open",
  "pidfd_getfd",
  "kcmp",
  "name_to_handle_at",
  "open_by_handle_at",
  "mount",
  "umount2",
  "pivot_root",
  "chroot",
  "unshare",
  "setns",
  "add_key",
  "request_key",
  "keyctl",
  "bpf",
  "userfaultfd",
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "syslog",
  "acct",
  "quotactl",
  "modify_ldt",
  "uselib",
  "mbind",
  "get_mempolicy",
  "set_mempolicy",
  "migrate_pages",
  "move_pages",
] as const;

/**
 * Syscalls refused with ENOSYS, so libraries fall back: clone3 (its flags live in memory seccomp cannot read;
 * glibc falls back to clone, whose flags we can check), io_uring (bypasses the syscall filter), new mount API,
 * and memory no watchdog sees in a process's resident size: memfd files, SysV shared memory and message queues
 * (POSIX shared memory lives in the sized tmpfs on /dev/shm; POSIX queues are bounded by RLIMIT_MSGQUEUE).
 * inotify too: the sandbox shares the host's /usr, so a watch there sees every program the host runs; a path
 * filter is out of seccomp's reach, and what runs here (`tail -f`, file watchers) falls back to polling.
 */
export const DENIED_WITH_ENOSYS = [
  "clone3",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "memfd_create",
  "memfd_secret",
  "shmget",
  "msgget",
  "open_tree",
  "open_tree_attr",
  "move_mount",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "mount_setattr",
  "inotify_init",
  "inotify_init1",
  "inotify_add_watch",
] as const;

/**
 * Refused with EOPNOTSUPP, which tells glibc's posix_fallocate to write the blocks instead: fallocate takes
 * gigabytes of disk in microseconds, faster than any watchdog walk, while writing them runs at disk speed.
 */
export const DENIED_WITH_EOPNOTSUPP = ["fallocate"] as const;

export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;
/** personality(2) flag that makes every readable mapping executable; the query value 0xffffffff stays allowed. */
export const READ_IMPLIES_EXEC = 0x0400000;
const PERSONALITY_QUERY = 0xffffffff;
/** ioprio values (class << 13 | level) a sandbox may set: IOPRIO_CLASS_NONE (back to what its niceness gives) and the
 * idle class, [IDLE_IOPRIO_MIN, IDLE_IOPRIO_END). Any best-effort level or real-time would be set above that. */
const IOPRIO_CLASS_NONE = 0;
export const IDLE_IOPRIO_MIN = 3 << 13;
const IDLE_IOPRIO_END = 4 << 13;
/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME. */
const CLONE_NAMESPACE_FLAGS = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x80;
/** AF_UNIX, AF_INET, AF_INET6, AF_NETLINK; everything else (packet, vsock, bluetooth…) gets EAFNOSUPPORT. */
const ALLOWED_SOCKET_FAMILIES = [1, 2, 10, 16];
const X32_SYSCALL_BIT = 0x40000000;

const EPERM = 1;
const ENOSYS = 38;
const EAFNOSUPPORT = 97;
const EOPNOTSUPP = 95;

const RET_KILL_PROCESS = 0x80000000;
const RET_ALLOW = 0x7fff0000;
const retErrno = (errno: number) => 0x00050000 | errno;

// Opcodes (linux/bpf_common.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

type Instruction = { code: number; jt: number | string; jf: number | string; k: number; label?: string };

const load = (offset: number): Instruction => ({ code: LD_W_ABS, jt: 0, jf: 0, k: offset });
const ret = (value: number, label?: string): Instruction => ({ code: RET_K, jt: 0, jf: 0, k: value, label });
const jump = (code: number, k: number, jt: number | string, jf: number | string): Instruction => ({ code, jt, jf, k });

/** The BPF program for `arch` (a `process.arch` value), as the bytes bwrap's `--seccomp FD` reads. */
export function buildSeccompFilter(arch: string = process.arch): Uint8Array {
  if (arch !== "x64" && arch !== "arm64") {
    throw new Error(`the sandbox's seccomp filter supports x86_64 and aarch64, not ${arch}`);
  }
  const numbers = SYSCALLS[arch];
  const nr = (name: string): number => {
    const value = numbers[name];
    if (value === undefined) throw new Error(`no syscall number for ${name} on ${arch}`);
    return value;
  };
  const program: Instruction[] = [load(4), jump(JEQ_K, AUDIT_ARCH[arch], 0, "kill"), load(0)];
  if (arch === "x64") program.push(jump(JGE_K, X32_SYSCALL_BIT, "enosys", 0));
  for (const name of DENIED_WITH_EPERM) if (name in numbers) program.push(jump(JEQ_K, nr(name), "eperm", 0));
  for (const name of DENIED_WITH_ENOSYS) if (name in numbers) program.push(jump(JEQ_K, nr(name), "enosys", 0));
  for (const name of DENIED_WITH_EOPNOTSUPP) program.push(jump(JEQ_K, nr(name), "eopnotsupp", 0));
  program.push(
    jump(JEQ_K, nr("ioctl"), "ioctl", 0),
    jump(JEQ_K, nr("clone"), "clone", 0),
    jump(JEQ_K, nr("socket"), "socket", 0),
    jump(JEQ_K, nr("socketpair"), "socket", 0),
    jump(JEQ_K, nr("personality"), "personality", 0),
    jump(JEQ_K, nr("ioprio_set"), "ioprio_set", 0),
    ret(RET_ALLOW),
    // ioctl(fd, request): the request is an unsigned int, so the low half of args[1] is all of it.
    { ...load(24), label: "ioctl" },
    jump(JEQ_K, TIOCSTI, "eperm", 0),
    jump(JEQ_K, TIOCLINUX, "eperm", "allow"),
    { ...load(16), label: "clone" },
    jump(JSET_K, CLONE_NAMESPACE_FLAGS, "eperm", "allow"),
    { ...load(16), label: "socket" },
    ...ALLOWED_SOCKET_FAMILIES.map((family) => jump(JEQ_K, family, "allow", 0)),
    ret(retErrno(EAFNOSUPPORT)),
    { ...load(16), label: "personality" },
    jump(JEQ_K, PERSONALITY_QUERY, "allow", 0),
    jump(JSET_K, READ_IMPLIES_EXEC, "eperm", "allow"),
    // ioprio_set(which, who, ioprio): the kernel reads ioprio as an int, the low half of args[2].
    { ...load(32), label: "ioprio_set" },
    jump(JEQ_K, IOPRIO_CLASS_NONE, "allow", 0),
    jump(JGE_K, IDLE_IOPRIO_END, "eperm", 0),
    jump(JGE_K, IDLE_IOPRIO_MIN, "allow", "eperm"),
    ret(RET_ALLOW, "allow"),
    ret(retErrno(EPERM), "eperm"),
    ret(retErrno(ENOSYS), "enosys"),
    ret(retErrno(EOPNOTSUPP), "eopnotsupp"),
    ret(RET_KILL_PROCESS, "kill"),
  );
  return assemble(program);
}

function assemble(program: Instruction[]): Uint8Array {
  const labels = new Map<string, number>();
  program.forEach((instruction, index) => {
    if (instruction.label) labels.set(instruction.label, index);
  });
  const offset = (target: number | string, index: number): number => {
    if (typeof target === "number") return target;
    const destination = labels.get(target);
    if (destination === undefined) throw new Error(`seccomp assembler: no label ${target}`);
    const distance = destination - index - 1;
    if (distance < 0 || distance > 255) throw new Error(`seccomp assembler: jump to ${target} out of range`);
    return distance;
  };
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach((instruction, index) => {
    view.setUint16(index * 8, instruction.code, true);
    view.setUint8(index * 8 + 2, offset(instruction.jt, index));
    view.setUint8(index * 8 + 3, offset(instruction.jf, index));
    view.setUint32(index * 8 + 4, instruction.k >>> 0, true);
  });
  return bytes;
}
