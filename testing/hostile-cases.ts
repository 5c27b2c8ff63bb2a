import { existsSync, lstatSync, readdirSync, statSync } from "node:fs";
import { getPriority } from "node:os";
import { join } from "node:path";
import { SANDBOX_NICENESS } from "../sandbox/bwrap-argv.ts";
import { describeSandboxResult } from "../sandbox/describe-result.ts";
import { type HostileEnvironment, leftoverProcesses } from "./hostile-environment.ts";
import { redact } from "../security/redact.ts";
import type { SandboxResult } from "../sandbox/sandbox-result.ts";
import { DEFAULT_SANDBOX_POLICY } from "../sandbox/sandbox-policy.ts";
import { testSandbox } from "./test-sandbox.ts";
import type { SandboxLimits } from "../sandbox/sandbox-limits.ts";
import { measureTree } from "../sandbox/measure-tree.ts";

/** What a case gets to judge: the raw result, the text a model would be shown, and the host environment. */
export type HostileOutcome = { result: SandboxResult; modelSees: string; env: HostileEnvironment };

/** One attack. `expect` returns undefined when the attack was contained, else what went wrong. */
export type HostileCase = {
  name: string;
  category: "network" | "filesystem" | "resources" | "identity" | "secrets";
  /** bash code, run as `/bin/bash -c CODE`. */
  sh?: string | ((env: HostileEnvironment) => string);
  /** Python code, run as `python3 -I -B -c CODE`. */
  python?: string | ((env: HostileEnvironment) => string);
  timeoutMs?: number;
  limits?: Partial<SandboxLimits>;
  /** Why the case holds only when org runs as root; without root it is reported as skipped, never as passed. */
  rootOnly?: string;
  expect(outcome: HostileOutcome): string | undefined | Promise<string | undefined>;
};

const MiB = 1024 * 1024;

/** Small limits so every case ends in a second or two. */
export const HOSTILE_DEFAULT_TIMEOUT_MS = 2000;
export const HOSTILE_LIMITS: Partial<SandboxLimits> = {
  processes: 32,
  memoryBytes: 256 * MiB,
  totalMemoryBytes: 512 * MiB,
  fileSizeBytes: 16 * MiB,
  tmpBytes: 8 * MiB,
  shmBytes: 4 * MiB,
  scratchBytes: 48 * MiB,
  outputKillBytes: 4 * MiB,
  outputBytes: 16 * 1024,
};

// Shared Python prelude for raw syscalls: `call(name, rc)` prints "name rc=R errno=E".
const SYSCALLS = `
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def call(name, rc):
    print(f"{name} rc={rc} errno={ctypes.get_errno() if rc == -1 else 0}")
`;

const all = (...problems: (string | false | undefined)[]) => problems.find((problem) => typeof problem === "string");
const unless = (contained: boolean, problem: string) => (contained ? undefined : problem);
const ranOk = (result: SandboxResult) =>
  unless(result.exitCode === 0 && !result.timedOut, `the probe itself did not finish: ${JSON.stringify(result).slice(0, 400)}`);
const lines = (text: string) => text.trim().split("\n");
/** The watchdog killed the run, for the reason `verdict` names, before its timeout did. */
const stoppedBy =
  (verdict: RegExp) =>
  ({ result }: HostileOutcome) =>
    unless(verdict.test(result.stderr) && !result.timedOut, `not stopped by the watchdog: ${result.stderr}`);

/** Expects each `name rc=… errno=N` line to report one of the allowed errnos. */
function syscallsRefused(allowed: Record<string, number[]>) {
  return ({ result }: HostileOutcome) => {
    for (const [name, errnos] of Object.entries(allowed)) {
      const match = new RegExp(`^${name} rc=(-?\\d+) errno=(\\d+)$`, "m").exec(result.stdout);
      if (!match) return `no report for ${name}: ${result.stdout}${result.stderr}`;
      if (!errnos.includes(Number(match[2]))) return `${name} was not refused: rc=${match[1]} errno=${match[2]}`;
    }
    return undefined;
  };
}

async function processesGone(word: string): Promise<string | undefined> {
  const left = await leftoverProcesses(word);
  return unless(left.length === 0, `host processes outlived the sandbox: ${left.join(", ")}`);
}

const hostPathAbsent = (path: string) => unless(!existsSync(path), `the sandbox created ${path} on the host`);

/**
 * The run was stopped for its deleted scratch files, not by the timeout. Descriptors and mappings are read on
 * the 200 ms poll, so how many files get written first depends on the disk's speed; the kill is what counts.
 */
function deletedFilesStopped(result: SandboxResult) {
  return unless(
    /deleted files still held open/.test(result.stderr) && !result.timedOut,
    `not stopped by the scratch limit: ${result.stderr} (held ${lines(result.stdout).at(-1)} files)`,
  );
}

/** Entries under `directory` (not following links) whose mode has setuid, setgid, sticky or group/other write. */
function looseModes(directory: string): string[] {
  const loose: string[] = [];
  const walk = (path: string) => {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return;
    if ((stat.mode & 0o7022) !== 0) loose.push(`${path} ${(stat.mode & 0o7777).toString(8)}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(directory);
  return loose;
}

/** What the host user nobody (uid 65534) gets from `script` with the scratch path as $0; undefined unless org runs as root. */
function asNobody(script: string, scratch: string): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const run = Bun.spawnSync(["/bin/sh", "-c", script, scratch], { uid: 65534, gid: 65534, stdout: "pipe", stderr: "pipe" });
  return `${run.stdout.toString()}${run.stderr.toString()}`;
}

export const HOSTILE_CASES: HostileCase[] = [
  // ── network ──────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "TCP to a real listener on the host's 127.0.0.1",
    category: "network",
    python: (env) => `
import socket
try:
    socket.create_connection(("127.0.0.1", ${env.tcpPort}), timeout=1); print("CONNECTED")
except OSError as e: print("refused", e.errno)`,
    expect: ({ result, env }) =>
      all(
        unless(result.stdout.startsWith("refused"), `connected to the host listener: ${result.stdout}`),
        unless(env.tcpConnections() === 0, "the host listener accepted a connection"),
      ),
  },
  {
    name: "bash /dev/tcp to the host's listener",
    category: "network",
    sh: (env) => `echo hi > /dev/tcp/127.0.0.1/${env.tcpPort} && echo CONNECTED`,
    expect: ({ result, env }) =>
      all(
        unless(!result.stdout.includes("CONNECTED") && result.exitCode !== 0, "bash reached the host port"),
        unless(env.tcpConnections() === 0, "the host listener accepted a connection"),
      ),
  },
  {
    name: "TCP to a public address",
    category: "network",
    python: `
import socket
try:
    socket.create_connection(("1.1.1.1", 443), timeout=1); print("CONNECTED")
except OSError as e: print("failed", e.errno)`,
    expect: ({ result }) => unless(/^failed (101|113)$/m.test(result.stdout), `not unreachable: ${result.stdout}`),
  },
  {
    name: "UDP to a public DNS server",
    category: "network",
    python: `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.sendto(b"x", ("8.8.8.8", 53)); print("SENT")
except OSError as e: print("failed", e.errno)`,
    expect: ({ result }) => unless(/^failed 101$/m.test(result.stdout), `datagram not refused: ${result.stdout}`),
  },
  {
    name: "curl to a public https site",
    category: "network",
    sh: "curl -sS --max-time 1 https://example.com -o /dev/null && echo FETCHED",
    expect: ({ result }) => unless(result.exitCode !== 0 && !result.stdout.includes("FETCHED"), "curl fetched a page"),
  },
  {
    name: "DNS lookup with getent",
    category: "network",
    sh: "getent hosts example.com && echo RESOLVED",
    expect: ({ result }) => unless(result.exitCode !== 0 && !result.stdout.includes("RESOLVED"), `resolved: ${result.stdout}`),
  },
  {
    name: "DNS lookup with getaddrinfo",
    category: "network",
    python: `
import socket
try:
    print("RESOLVED", socket.getaddrinfo("example.com", 443))
except socket.gaierror as e: print("failed", e)`,
    expect: ({ result }) => unless(result.stdout.startsWith("failed"), `resolved: ${result.stdout}`),
  },
  {
    name: "raw ICMP socket",
    category: "network",
    python: `
import socket
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP); print("RAW")
except OSError as e: print("failed", e.errno)`,
    expect: ({ result }) => unless(/^failed (1|13)$/m.test(result.stdout), `raw socket: ${result.stdout}`),
  },
  {
    name: "packet and vsock sockets",
    category: "network",
    python: `
import socket
for family in (17, 40):
    try:
        socket.socket(family, socket.SOCK_RAW if family == 17 else socket.SOCK_STREAM); print(family, "OPEN")
    except OSError as e: print(family, "failed", e.errno)`,
    expect: ({ result }) => unless(result.stdout === "17 failed 97\n40 failed 97\n", `not refused by family: ${result.stdout}`),
  },
  {
    name: "host abstract unix socket",
    category: "network",
    python: (env) => `
import socket
s = socket.socket(socket.AF_UNIX)
try:
    s.connect("\\0${env.abstractSocket}"); print("CONNECTED")
except OSError as e: print("failed", e.errno)`,
    expect: ({ result, env }) =>
      all(
        unless(result.stdout.startsWith("failed"), `reached the host socket: ${result.stdout}`),
        unless(env.tcpConnections() === 0, "a host listener accepted a connection"),
      ),
  },
  {
    name: "host service sockets: docker, D-Bus, X11",
    category: "network",
    sh: "ls -d /var/run/docker.sock /run/docker.sock /run/user /run/dbus/system_bus_socket /tmp/.X11-unix 2>&1 | grep -vc 'No such file'; true",
    expect: ({ result }) => unless(result.stdout === "0\n", `visible: ${result.stdout}${result.stderr}`),
  },
  {
    name: "pip install fails fast without a network",
    category: "network",
    sh: "python3 -m pip install --no-cache-dir --retries 0 --timeout 1 --target pkgs requests 2>&1 | tail -n 2; ls pkgs 2>/dev/null",
    // pip gives up after one 1 s try; the rest is starting python and pip, which took over 10 s at a load of 39.
    timeoutMs: 30_000,
    expect: ({ result }) => unless(!result.timedOut && !/Successfully installed/.test(result.stdout), `pip: ${result.stdout}`),
  },
  {
    name: "only a private loopback interface",
    category: "network",
    sh: "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
    expect: ({ result }) => unless(result.stdout === "lo\n", `interfaces: ${result.stdout}`),
  },

  // ── filesystem ───────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "write outside scratch: /usr, /etc, /, /bin",
    category: "filesystem",
    sh: (env) =>
      `for p in /usr/pwn-${env.marker} /etc/pwn-${env.marker} /pwn-${env.marker} /bin/pwn-${env.marker}; do ` +
      `echo x > "$p" 2>/dev/null && echo "WROTE $p"; done; true`,
    expect: ({ result, env }) =>
      all(
        ranOk(result),
        unless(!result.stdout.includes("WROTE"), result.stdout),
        hostPathAbsent(`/usr/pwn-${env.marker}`),
        hostPathAbsent(`/etc/pwn-${env.marker}`),
        hostPathAbsent(`/pwn-${env.marker}`),
      ),
  },
  {
    name: "read /root and /home",
    category: "filesystem",
    sh: "ls -a /root /home 2>&1; cat /root/.bashrc /root/.ssh/id_rsa 2>&1; true",
    expect: ({ result }) =>
      unless(
        lines(result.stdout).every((line) => /No such file or directory/.test(line)),
        result.stdout,
      ),
  },
  {
    name: "read /etc/shadow",
    category: "filesystem",
    sh: "cat /etc/shadow",
    expect: ({ result }) =>
      all(
        unless(existsSync("/etc/shadow"), "no /etc/shadow on this host to protect"),
        unless(result.exitCode !== 0 && result.stdout === "", `read: ${result.stdout}`),
      ),
  },
  {
    name: "read the workspace repository's .git and .env by absolute path",
    category: "filesystem",
    sh: (env) => `cat ${env.workspaceDir}/.git/config ${env.workspaceDir}/.env; ls ${env.workspaceDir}`,
    expect: ({ result, env }) =>
      all(
        unless(existsSync(join(env.workspaceDir, ".git", "config")), "the test repo has no .git/config"),
        unless(result.stdout === "" && result.exitCode !== 0, `read the repo: ${result.stdout}`),
      ),
  },
  {
    name: ".. escapes from scratch",
    category: "filesystem",
    sh: "cat /scratch/../../../../etc/shadow ../.git/config ../../.git/config ../.env 2>/dev/null; cd ../../..; ls -a",
    expect: ({ result }) => {
      const entries = lines(result.stdout).sort().join(" ");
      return unless(entries === ". .. bin dev etc lib lib64 proc sbin scratch tmp usr", `the root shows: ${entries}`);
    },
  },
  {
    name: "symlink out of scratch, then read",
    category: "filesystem",
    sh: (env) => `ln -s /etc/shadow s1; ln -s ${env.workspaceDir}/.git/config s2; cat s1 s2`,
    expect: ({ result }) => unless(result.stdout === "" && result.exitCode !== 0, `read through a symlink: ${result.stdout}`),
  },
  {
    name: "symlink out of scratch, then write",
    category: "filesystem",
    sh: (env) => `ln -s /usr/pwn-link-${env.marker} w; echo x > w && echo WROTE`,
    expect: ({ result, env }) =>
      all(unless(!result.stdout.includes("WROTE"), "wrote through the link"), hostPathAbsent(`/usr/pwn-link-${env.marker}`)),
  },
  {
    name: "hard link to a system binary",
    category: "filesystem",
    sh: "ln /usr/bin/sh hardlink && echo LINKED",
    expect: ({ result }) => unless(!result.stdout.includes("LINKED") && /cross-device/i.test(result.stderr), result.stderr),
  },
  {
    name: "device nodes: mknod and raw disks",
    category: "filesystem",
    sh: "mknod mem c 1 1 && echo MADE; ls /dev; head -c 1 /dev/mem /dev/kmsg /dev/sda 2>&1 | grep -v 'No such' ; true",
    expect: ({ result }) =>
      all(
        unless(!result.stdout.includes("MADE"), "mknod worked"),
        unless(!/\b(mem|kmsg|sda|nvme0|vda)\b/.test(result.stdout), `host devices visible: ${result.stdout}`),
      ),
  },
  {
    name: "remount /usr read-write",
    category: "filesystem",
    sh: (env) => `mount -o remount,rw,bind /usr; touch /usr/PWNED-${env.marker} && echo WROTE`,
    expect: ({ result, env }) => all(unless(!result.stdout.includes("WROTE"), "wrote into /usr"), hostPathAbsent(`/usr/PWNED-${env.marker}`)),
  },
  {
    name: "a scratch opened to everyone with a setuid shell left in it for another host user",
    category: "filesystem",
    // It worked once: the host user nobody ran the setuid copy from scratch, became the sandbox uid and killed
    // another sandbox. Now scratch's parent is org's and private, and the run's setuid bits are gone after it.
    sh: "chmod 777 /scratch; cp /usr/bin/bash b; chmod 6755 b; mkdir -m 1777 open; cp /usr/bin/id open/id; chmod 4777 open/id; echo left",
    expect: ({ result, env }) => {
      const scratch = env.scratchFor("a scratch opened to everyone with a setuid shell left in it for another host user");
      const nobody = asNobody(`"$0/b" -p -c 'id -u'; "$0/open/id" -u; ls "$0"`, scratch);
      return all(
        ranOk(result),
        unless((statSync(scratch).mode & 0o7777) === 0o700, `scratch was left mode ${(statSync(scratch).mode & 0o7777).toString(8)}`),
        unless(looseModes(scratch).length === 0, `modes left in scratch: ${looseModes(scratch).join(", ")}`),
        nobody !== undefined &&
          unless(!/^(61234|b|open)$/m.test(nobody) && /Permission denied/.test(nobody), `the host user nobody reached scratch: ${nobody}`),
      );
    },
  },
  {
    name: "kernel knobs in /proc/sys and /sys",
    category: "filesystem",
    sh: "echo 1 > /proc/sys/kernel/sysrq && echo WROTE; ls /sys 2>&1 | head -3",
    expect: ({ result }) =>
      all(
        unless(!result.stdout.includes("WROTE"), "wrote /proc/sys"),
        unless(/No such file or directory/.test(result.stdout), `/sys is visible: ${result.stdout}`),
      ),
  },

  // ── resources ────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "fork bomb",
    category: "resources",
    sh: (env) => `exec -a ${env.marker}-bomb bash -c 'f(){ f | f & }; f; sleep 5'`,
    expect: async ({ result, env }) =>
      all(unless(result.timedOut || result.exitCode !== 0, "the bomb finished on its own?"), await processesGone(`${env.marker}-bomb`)),
  },
  {
    name: "thread bomb",
    category: "resources",
    python: `
import threading, time
n = 0
try:
    while True:
        threading.Thread(target=time.sleep, args=(5,), daemon=True).start(); n += 1
except RuntimeError as e: print("stopped", n, flush=True)
import os; os._exit(0)`,
    expect: ({ result }) => {
      const count = Number(/stopped (\d+)/.exec(result.stdout)?.[1] ?? Number.NaN);
      return unless(count < 32, `started ${count} threads: ${result.stdout}${result.stderr}`);
    },
  },
  {
    name: "memory bomb: one 4 GiB allocation",
    category: "resources",
    python: "x = bytearray(4 * 1024**3)\nprint('ALLOCATED')",
    expect: ({ result }) => unless(/MemoryError/.test(result.stderr) && !result.stdout, result.stderr),
  },
  {
    name: "memory bomb: growing until it fails",
    category: "resources",
    python: "chunks = []\nwhile True: chunks.append(bytearray(8 * 1024**2))",
    expect: ({ result }) => unless(/MemoryError/.test(result.stderr) || result.signal !== null, result.stderr),
  },
  {
    name: "memory bomb: many processes together",
    category: "resources",
    sh: "for i in 1 2 3 4 5 6; do python3 -c 'x = bytearray(200 * 1024**2); import time; time.sleep(30)' & done; wait",
    // Six interpreters starting at once on a loaded machine need more than the default two seconds; the memory
    // limit must stop them, so the time limit is only a net, long enough for a machine busy with the whole suite.
    timeoutMs: 20_000,
    expect: ({ result }) => unless(result.signal === "SIGKILL" && /memory/.test(result.stderr), `not stopped: ${result.stderr}`),
  },
  {
    name: "CPU loop",
    category: "resources",
    python: "while True: pass",
    limits: { cpuSeconds: 1 },
    expect: ({ result }) => unless(result.signal === "SIGXCPU" || result.timedOut, JSON.stringify(result)),
  },
  {
    name: "CPU loop in two threads",
    category: "resources",
    python: "import threading\ndef spin():\n    while True: pass\nthreading.Thread(target=spin).start()\nspin()",
    limits: { cpuSeconds: 1 },
    expect: ({ result }) => unless(result.signal === "SIGXCPU" || result.timedOut, JSON.stringify(result)),
  },
  {
    name: "10 GB file",
    category: "resources",
    sh: "head -c 10G /dev/zero > big; echo exit=$?",
    expect: ({ result, env }) => {
      const size = statSizeOr(join(env.scratchFor("10 GB file"), "big"));
      return all(
        unless(/exit=153/.test(result.stdout), `not stopped by the file-size limit: ${result.stdout}`),
        unless(size <= 16 * MiB, `the host file grew to ${size} bytes`),
      );
    },
  },
  {
    name: "10 GB sparse file",
    category: "resources",
    sh: "truncate -s 10G sparse && echo MADE",
    expect: ({ result }) => unless(!result.stdout.includes("MADE"), "a 10 GB sparse file was made"),
  },
  {
    name: "filling scratch with many files",
    category: "resources",
    sh: "i=0; while true; do i=$((i+1)); head -c 4M /dev/zero > f$i || exit 1; done",
    // Room for the watchdog to trip first even when the machine is busy. inotify wakes it on each write; how far
    // past the limit the writer gets depends on how soon org is given the CPU: `npm run bench:sandbox` reports it.
    timeoutMs: 8000,
    expect: stoppedBy(/killed because the scratch directory grew/),
  },
  {
    name: "a million empty files in scratch",
    category: "resources",
    sh: "mkdir d; cd d; i=0; while :; do i=$((i+1)); : > f$i || exit 1; done",
    limits: { scratchFiles: 3000 },
    timeoutMs: 5000,
    expect: ({ result, env }) => {
      const tree = measureTree(env.scratchFor("a million empty files in scratch"), 1024 * MiB, 1_000_000);
      return all(
        // On a loaded machine the shell may not reach 3000 files before the timeout; both stop it.
        unless(/limit of 3000 files/.test(result.stderr) || result.timedOut, `not stopped: ${result.stderr}`),
        unless(tree.entries < 100_000, `scratch holds ${tree.entries} entries`),
      );
    },
  },
  {
    name: "FIFOs and symlink loops left in scratch for the host",
    category: "resources",
    sh: "mkfifo pipe; ln -s /etc/shadow shadow; ln -s / root; ln -s loop loop; mkdir -p a/b; ln -s ../.. a/b/up; sleep 0.6; echo done",
    expect: ({ result, env }) => {
      // The host-side watchdog walked this tree several times during the run; it must neither block on the
      // FIFO nor follow the links (lstat only).
      const tree = measureTree(env.scratchFor("FIFOs and symlink loops left in scratch for the host"), MiB, 100);
      return all(ranOk(result), unless(tree.entries === 7, `host walk saw ${tree.entries} entries`));
    },
  },
  {
    name: "directories nested past the host's PATH_MAX, then filled",
    category: "resources",
    // Relative mkdir/cd has no length limit inside; the host sees /…/scratch/<session>/ in front of every path.
    sh:
      "n=$(printf 'd%.0s' $(seq 250)); for i in $(seq 24); do mkdir $n && cd $n || exit 1; done; echo DEEP; " +
      "i=0; while head -c 4M /dev/zero > f$i; do i=$((i+1)); done",
    timeoutMs: 8000,
    expect: stoppedBy(/killed because the scratch directory holds an entry the host cannot measure/),
  },
  {
    name: "deleted files held open in scratch",
    category: "resources",
    // Each file vanishes from the tree at once, so only the open descriptors show what the disk holds.
    python: `
import os, sys, time
files, written = [], 0
while written < 2048 << 20:
    f = open(f"x{len(files)}", "wb"); os.unlink(f.name); files.append(f)
    for _ in range(4):
        f.write(b"\\1" * (4 << 20)); f.flush(); written += 4 << 20
        print(written >> 20, flush=True)
time.sleep(5)`,
    timeoutMs: 8000,
    expect: ({ result }) => {
      const written = Number(lines(result.stdout).at(-1));
      return all(
        unless(/deleted files still held open/.test(result.stderr), `not stopped by the scratch limit: ${result.stderr}`),
        // The open descriptors are read when the free-space sentinel holds the sandbox for a walk, and on the 200 ms
        // poll: the sentinel's 10 ms reads bound the overshoot, this bound leaves room for a machine at load 20.
        unless(written < 1024, `wrote ${written} MiB into deleted files`),
      );
    },
  },
  {
    name: "filling scratch under a directory name that is not UTF-8",
    category: "resources",
    sh: 'd=$\'\\xff\'; mkdir "$d" || exit 1; i=0; while head -c 4M /dev/zero > "$d/f$i"; do i=$((i+1)); done',
    timeoutMs: 8000,
    expect: stoppedBy(/killed because the scratch directory grew/),
  },
  {
    name: "deleted files held through a mapping alone",
    category: "resources",
    // /proc/PID/map_files needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE) in the host's namespace.
    rootOnly: "only root can stat a deleted file through /proc/PID/map_files; others count the mapping's length",
    // libc's mmap, not Python's, which keeps a duplicate descriptor of its own.
    python: `
import ctypes, os, time
libc = ctypes.CDLL(None)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
for n in range(20):
    fd = os.open(f"m{n}", os.O_CREAT | os.O_RDWR); os.write(fd, b"\\1" * (15 << 20))
    assert libc.mmap(None, 4096, 1, 1, fd, 0) not in (None, ctypes.c_void_p(-1).value)
    os.unlink(f"m{n}"); os.close(fd)
    print(n + 1, flush=True)
time.sleep(5)`,
    timeoutMs: 8000,
    expect: ({ result }) => deletedFilesStopped(result),
  },
  {
    name: "deleted files held open under a former path too long to print",
    category: "resources",
    // /proc/PID/fd/N cannot print the path (ENAMETOOLONG) of a file below deleted directories with long names.
    python: `
import os, time
held = []
for n in range(20):
    base = f"t{n}"; deep = base + "/b" * 17; os.makedirs(deep)
    fd = os.open(deep + "/f", os.O_CREAT | os.O_WRONLY); os.write(fd, b"\\1" * (15 << 20)); os.unlink(deep + "/f")
    while deep != base:
        longer = os.path.join(os.path.dirname(deep), "L" * 250); os.rename(deep, longer); os.rmdir(longer)
        deep = os.path.dirname(deep)
    held.append(fd)
    print(n + 1, flush=True)
time.sleep(5)`,
    timeoutMs: 8000,
    expect: ({ result }) => deletedFilesStopped(result),
  },
  {
    name: "memory held by threads whose main thread has exited",
    category: "resources",
    // Each process's main thread exits (SYS_exit, not exit_group): it turns zombie while a thread holds 150 MiB.
    python: `
import ctypes, os, threading, time
libc = ctypes.CDLL(None)
def hog():
    time.sleep(0.3)
    block = bytearray(150 << 20)
    for i in range(0, len(block), 4096): block[i] = 1
    print("holding", flush=True)
    time.sleep(30)
for _ in range(5):
    if os.fork() == 0:
        threading.Thread(target=hog).start()
        libc.syscall(60 if os.uname().machine == "x86_64" else 93, 0)
time.sleep(30)`,
    // The memory limit must stop it; the time limit is only a net, long enough for a machine busy with the suite.
    timeoutMs: 20_000,
    expect: ({ result }) =>
      unless(/used more than 512 MiB of memory/.test(result.stderr) && !result.timedOut, `not stopped by the memory limit: ${result.stderr}`),
  },
  {
    name: "fallocate of gigabytes in scratch",
    category: "resources",
    // fallocate would take the disk faster than any walk; refused, posix_fallocate falls back to writing.
    python: `
import os
fd = os.open("big", os.O_CREAT | os.O_WRONLY)
try:
    os.posix_fallocate(fd, 0, 4 << 20); print("posix_fallocate wrote", os.fstat(fd).st_blocks * 512)
except OSError as e: print("posix_fallocate", e.errno)
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
rc = libc.fallocate(fd, 0, ctypes.c_long(0), ctypes.c_long(8 << 30))
print(f"fallocate rc={rc} errno={ctypes.get_errno() if rc == -1 else 0}")`,
    expect: ({ result }) =>
      all(
        syscallsRefused({ fallocate: [95] })({ result } as HostileOutcome),
        unless(/^posix_fallocate wrote 4194304$/m.test(result.stdout), `posix_fallocate did not fall back: ${result.stdout}${result.stderr}`),
      ),
  },
  {
    name: "a crowded scratch, then filled fast",
    category: "resources",
    // Past 2000 directories the inotify watch is dropped; the free-space sentinel must still catch the writer
    // (sandbox/run-watchdog.test.ts shows it does so alone). How far past the limit it gets depends on how soon
    // org is given the CPU, so that figure is `npm run bench:sandbox`'s, not a bound here.
    sh: "mkdir $(seq -f d%g 0 2100) || exit 1; sleep 0.5; i=0; while head -c 4M /dev/zero > f$i; do i=$((i+1)); done",
    timeoutMs: 8000,
    expect: stoppedBy(/killed because the scratch directory grew/),
  },
  {
    name: "filling /tmp and /dev/shm",
    category: "resources",
    sh: "head -c 100M /dev/zero > /tmp/x; head -c 100M /dev/zero > /dev/shm/x; du -k /tmp/x /dev/shm/x | cut -f1",
    expect: ({ result }) => unless(result.stdout === "8192\n4096\n" && /No space left/.test(result.stderr), `${result.stdout}${result.stderr}`),
  },
  {
    name: "file descriptor exhaustion",
    category: "resources",
    python: "fs = []\ntry:\n    while True: fs.append(open('/dev/null'))\nexcept OSError as e: print(len(fs), e.errno)",
    expect: ({ result }) => {
      const [count, errno] = result.stdout.trim().split(" ").map(Number);
      return unless(errno === 24 && (count ?? 0) < 256, result.stdout);
    },
  },
  {
    name: "1 GB of stdout",
    category: "resources",
    sh: "head -c 1G /dev/zero | tr '\\0' a",
    timeoutMs: 10_000,
    expect: ({ result }) =>
      unless(
        result.truncated && !result.timedOut && result.signal === "SIGKILL" && result.stdout.length < 64 * 1024,
        `not cut short: ${JSON.stringify({ ...result, stdout: result.stdout.length })}`,
      ),
  },
  {
    name: "a flood on stderr while stdout is quiet",
    category: "resources",
    sh: "yes 'flood' >&2",
    timeoutMs: 10_000,
    expect: ({ result }) => unless(result.truncated && !result.timedOut && /output/.test(result.stderr), result.stderr.slice(-200)),
  },
  {
    name: "binary garbage on one endless line",
    category: "resources",
    sh: "head -c 8M /dev/urandom",
    expect: ({ result, modelSees }) => unless(result.truncated && modelSees.length < 64 * 1024 && !/\x1b/.test(modelSees), "garbage not contained"),
  },
  {
    name: "sleep past the timeout",
    category: "resources",
    sh: "sleep 60",
    timeoutMs: 500,
    expect: ({ result }) => unless(result.timedOut && result.exitCode === null, JSON.stringify(result)),
  },
  {
    name: "reading stdin that never comes",
    category: "resources",
    python: "try:\n    input()\nexcept EOFError: print('eof')",
    expect: ({ result }) => unless(result.stdout === "eof\n" && !result.timedOut, result.stdout),
  },
  {
    name: "a child that ignores SIGTERM outlives its parent",
    category: "resources",
    sh: (env) => `(trap '' TERM HUP; exec -a ${env.marker}-orphan sleep 300) & echo started; exit 0`,
    expect: async ({ result, env }) => all(ranOk(result), await processesGone(`${env.marker}-orphan`)),
  },
  {
    name: "a setsid daemon",
    category: "resources",
    sh: (env) => `setsid nohup bash -c 'exec -a ${env.marker}-daemon sleep 300' >/dev/null 2>&1 & exit 0`,
    expect: async ({ result, env }) => all(ranOk(result), await processesGone(`${env.marker}-daemon`)),
  },
  {
    name: "a SIGTERM-ignoring tree at the timeout",
    category: "resources",
    sh: (env) => `trap '' TERM; (trap '' TERM; exec -a ${env.marker}-tree sleep 300) & exec -a ${env.marker}-tree sleep 300`,
    timeoutMs: 500,
    expect: async ({ result, env }) => all(unless(result.timedOut, "not timed out"), await processesGone(`${env.marker}-tree`)),
  },

  // ── identity ─────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "unprivileged: uid, capabilities, no_new_privs, seccomp",
    category: "identity",
    sh: "id -u; grep -E '^(CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\\t'",
    expect: ({ result }) =>
      unless(
        result.stdout ===
          "65534\nCapPrm:0000000000000000\nCapEff:0000000000000000\nCapBnd:0000000000000000\nCapAmb:0000000000000000\nNoNewPrivs:1\nSeccomp:2\n",
        result.stdout,
      ),
  },
  {
    name: "setuid root binaries do not raise privileges",
    category: "identity",
    sh: "su -c 'id -u' root </dev/null; /usr/bin/mount -t tmpfs none /tmp && echo MOUNTED; true",
    expect: ({ result }) => unless(!/^0$/m.test(result.stdout) && !result.stdout.includes("MOUNTED"), `escalated: ${result.stdout}`),
  },
  {
    name: "a setuid copy of bash",
    category: "identity",
    sh: "cp /usr/bin/bash b && chmod u+s b && ./b -p -c 'id -u'",
    expect: ({ result }) => unless(result.stdout === "65534\n", `uid became ${result.stdout}`),
  },
  {
    name: "setuid(0) and setgid(0)",
    category: "identity",
    // EPERM, or EINVAL where uid 0 is not even mapped into the sandbox's user namespace.
    python:
      "import os\nfor f in (os.setuid, os.setgid, os.setresuid):\n    try:\n        f(*([0] * (3 if f is " +
      "os.setresuid else 1))); print('BECAME ROOT')\n    except OSError as e: print('refused', e.errno)",
    expect: ({ result }) => unless(/^(refused (1|22)\n){3}$/.test(result.stdout), result.stdout + result.stderr),
  },
  {
    name: "taking back the CPU priority it was started without",
    category: "identity",
    // The watchdog keeps up with a fast writer only while the sandbox stays nicer than org.
    python:
      "import os\nprint(os.nice(0))\ntry:\n    os.setpriority(os.PRIO_PROCESS, 0, 0)\n    " +
      "print('raised')\nexcept OSError as e: print(e.errno)\nprint(os.nice(0))",
    expect: ({ result }) => {
      const niceness = Math.min(19, getPriority() + SANDBOX_NICENESS);
      return unless(result.stdout === `${niceness}\n13\n${niceness}\n`, `priority: ${result.stdout}${result.stderr}`);
    },
  },
  {
    name: "unshare from the shell",
    category: "identity",
    sh: "unshare -Ur id -u; unshare -n true && echo NETNS; unshare -m true && echo MOUNTNS; true",
    expect: ({ result }) => unless(result.stdout === "", `made a namespace: ${result.stdout}`),
  },
  {
    name: "unshare, setns and clone(CLONE_NEWUSER) syscalls",
    category: "identity",
    python: `${SYSCALLS}
call("unshare", libc.unshare(0x10000000))
call("unshare_net", libc.unshare(0x40000000))
fd = os.open("/proc/self/ns/user", os.O_RDONLY)
call("setns", libc.setns(fd, 0))
call("clone", libc.syscall(56 if os.uname().machine == "x86_64" else 220, 0x10000000 | 17, 0, 0, 0, 0))`,
    expect: syscallsRefused({ unshare: [1], unshare_net: [1], setns: [1], clone: [1] }),
  },
  {
    name: "mount, umount, pivot_root and chroot",
    category: "identity",
    python: `${SYSCALLS}
call("mount", libc.mount(b"none", b"/tmp", b"tmpfs", 0, None))
call("umount", libc.umount2(b"/scratch", 2))
call("pivot_root", libc.syscall(155 if os.uname().machine == "x86_64" else 41, b"/tmp", b"/tmp"))
call("chroot", libc.chroot(b"/tmp"))`,
    expect: syscallsRefused({ mount: [1], umount: [1], pivot_root: [1], chroot: [1] }),
  },
  {
    name: "new mount API (fsopen, open_tree)",
    category: "identity",
    python: `${SYSCALLS}
call("fsopen", libc.syscall(430, b"tmpfs", 0))
call("open_tree", libc.syscall(428, -100, b"/usr", 1))`,
    expect: syscallsRefused({ fsopen: [38], open_tree: [38] }),
  },
  {
    name: "ptrace and process_vm_readv on pid 1",
    category: "identity",
    python: `${SYSCALLS}
call("ptrace", libc.ptrace(16, 1, 0, 0))
call("process_vm_readv", libc.syscall(310 if os.uname().machine == "x86_64" else 270, 1, 0, 0, 0, 0, 0))`,
    expect: syscallsRefused({ ptrace: [1], process_vm_readv: [1] }),
  },
  {
    name: "strace a process",
    category: "identity",
    sh: "sleep 5 & strace -p $! -e trace=none 2>&1 | head -2; kill %1",
    expect: ({ result }) => unless(/not permitted|No such file or directory|not found/i.test(result.stdout + result.stderr), result.stdout),
  },
  {
    name: "TIOCSTI into a controlling terminal",
    category: "identity",
    python: `${SYSCALLS}
import pty, fcntl, termios
pid, fd = pty.fork()
if pid == 0:
    import ctypes
    c = ctypes.c_char(b"x")
    rc = libc.ioctl(0, termios.TIOCSTI, ctypes.byref(c))
    print(f"tiocsti rc={rc} errno={ctypes.get_errno() if rc == -1 else 0}", flush=True)
    os._exit(0)
out = b""
while True:
    try:
        chunk = os.read(fd, 1024)
    except OSError: break
    if not chunk: break
    out += chunk
print(out.decode().replace("\\r", "").strip())`,
    expect: syscallsRefused({ tiocsti: [1] }),
  },
  {
    name: "TIOCLINUX and the host's terminal",
    category: "identity",
    python: `${SYSCALLS}
import ctypes
buf = ctypes.c_char(b"\\x0b")
call("tioclinux", libc.ioctl(1, 0x541C, ctypes.byref(buf)))
try:
    os.open("/dev/tty", os.O_RDWR); print("tty OPENED")
except OSError as e: print("tty rc=-1 errno=%d" % e.errno)`,
    expect: syscallsRefused({ tioclinux: [1], tty: [6, 2] }),
  },
  {
    name: "signals to host processes and to pid 1",
    category: "identity",
    sh: (env) => `kill -9 ${env.hostPid} 2>&1; kill -9 1; echo alive; ps -e -o pid= | wc -l`,
    expect: ({ result }) => unless(/No such process/.test(result.stdout) && /alive/.test(result.stdout), `${result.stdout}${result.stderr}`),
  },
  {
    name: "io_uring, keyctl, bpf, kexec",
    category: "identity",
    python: `${SYSCALLS}
x86 = os.uname().machine == "x86_64"
call("io_uring_setup", libc.syscall(425, 1, ctypes.create_string_buffer(120)))
call("keyctl", libc.syscall(250 if x86 else 219, 0, 0, 0, 0, 0))
call("bpf", libc.syscall(321 if x86 else 280, 0, 0, 0))
call("kexec_load", libc.syscall(246 if x86 else 104, 0, 0, 0, 0))`,
    expect: syscallsRefused({ io_uring_setup: [38], keyctl: [1], bpf: [1], kexec_load: [1] }),
  },
  {
    name: "memfd, SysV shared memory and queues, pidfd_getfd, kcmp, file handles, personality",
    category: "identity",
    python: `${SYSCALLS}
x86 = os.uname().machine == "x86_64"
call("memfd_create", libc.syscall(319 if x86 else 279, b"hidden", 0))
call("shmget", libc.syscall(29 if x86 else 194, 0, 64 << 20, 0o1600))
call("msgget", libc.syscall(68 if x86 else 186, 0, 0o1600))
try:
    pidfd = os.pidfd_open(1)
except OSError:
    pidfd = 0
call("pidfd_getfd", libc.syscall(438, pidfd, 3, 0))
call("kcmp", libc.syscall(312 if x86 else 272, 1, os.getpid(), 0, 0, 0))
handle = ctypes.create_string_buffer(136)
ctypes.memmove(handle, ctypes.byref(ctypes.c_uint(128)), 4)
call("name_to_handle_at", libc.syscall(303 if x86 else 264, -100, b"/usr", handle, ctypes.byref(ctypes.c_int()), 0))
call("personality_rie", libc.personality(0x0400000))
call("personality_query", libc.personality(0xffffffff))
call("personality_linux", libc.personality(0))`,
    expect: syscallsRefused({
      memfd_create: [38],
      shmget: [38],
      msgget: [38],
      pidfd_getfd: [1],
      kcmp: [1],
      name_to_handle_at: [1],
      personality_rie: [1],
      personality_query: [0],
      personality_linux: [0],
    }),
  },
  {
    name: "inotify watching the host's /usr/bin to see what the host runs",
    category: "identity",
    // /usr is the host's, bind-mounted: a watch there reports every program the host starts.
    python: `${SYSCALLS}
x86 = os.uname().machine == "x86_64"
fd = libc.inotify_init1(0)
call("inotify_init1", fd)
call("inotify_init", libc.syscall(253) if x86 else -1)
call("inotify_add_watch", libc.inotify_add_watch(fd, b"/usr/bin", 0x20))`,
    expect: syscallsRefused({ inotify_init1: [38], inotify_init: [38, 0], inotify_add_watch: [38, 9] }),
  },
  {
    name: "fanotify marks on the host's /usr/bin",
    category: "identity",
    // FAN_CLASS_NOTIF | FAN_REPORT_FID is what an unprivileged process may ask for; then FAN_MARK_ADD of FAN_OPEN.
    python: `${SYSCALLS}
x86 = os.uname().machine == "x86_64"
fd = libc.syscall(300 if x86 else 262, 0x200, 0)
call("fanotify_init", fd)
call("fanotify_mark", libc.syscall(301 if x86 else 263, fd, 1, ctypes.c_uint64(0x20), -100, b"/usr/bin"))`,
    expect: syscallsRefused({ fanotify_init: [1], fanotify_mark: [1] }),
  },
  {
    name: "open_tree_attr, the newest call of the mount API",
    category: "identity",
    python: `${SYSCALLS}
call("open_tree_attr", libc.syscall(467, -100, b"/usr", 1, None, 0))`,
    expect: syscallsRefused({ open_tree_attr: [38] }),
  },
  {
    name: "raising its I/O priority above org's",
    category: "identity",
    // ioprio_set(IOPRIO_WHO_PROCESS, self, class << 13 | level): best effort 0 and 7 and real time refused; idle
    // and "none" (what the niceness gives) still allowed, so \`ionice -c3\` works.
    python: `${SYSCALLS}
nr = 251 if os.uname().machine == "x86_64" else 30
call("best_effort_0", libc.syscall(nr, 1, 0, 2 << 13))
call("best_effort_7", libc.syscall(nr, 1, 0, (2 << 13) | 7))
call("real_time", libc.syscall(nr, 1, 0, 1 << 13))
call("idle", libc.syscall(nr, 1, 0, 3 << 13))
call("none", libc.syscall(nr, 1, 0, 0))`,
    expect: syscallsRefused({ best_effort_0: [1], best_effort_7: [1], real_time: [1], idle: [0], none: [0] }),
  },
  {
    name: "an i386 int 0x80 syscall",
    category: "identity",
    // mov eax, 20 (getpid in the i386 table); int 0x80; ret. The arch check must kill the process.
    python: `
import ctypes, mmap, os
if os.uname().machine != "x86_64":
    print("not x86_64"); raise SystemExit
page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(bytes([0xB8, 20, 0, 0, 0, 0xCD, 0x80, 0xC3]))
function = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
print("calling", flush=True)
print("RETURNED", function())`,
    // SIGSYS: the arch check killed it. SIGSEGV: the machine faults `int 0x80` before any syscall (seen in a
    // paravirtualized guest whose kernel has i386 emulation on), so no i386 syscall runs. Either way it never returns.
    expect: ({ result }) =>
      result.stdout === "not x86_64\n"
        ? undefined
        : unless(
            result.stdout === "calling\n" && (result.signal === "SIGSYS" || result.signal === "SIGSEGV"),
            `${result.stdout} signal=${result.signal}`,
          ),
  },
  {
    name: "x32 syscall numbers",
    category: "identity",
    python: `${SYSCALLS}
call("x32_getpid", libc.syscall(0x40000000 | 39) if os.uname().machine == "x86_64" else -1)`,
    expect: syscallsRefused({ x32_getpid: [38, 0] }),
  },
  {
    name: "a nested sandbox and the kernel log",
    category: "identity",
    sh: "bwrap --ro-bind / / true && echo NESTED; dmesg >/dev/null 2>&1 && echo DMESG; true",
    expect: ({ result }) => unless(result.stdout === "", result.stdout),
  },

  // ── secrets ──────────────────────────────────────────────────────────────────────────────────────────────
  {
    name: "the parent's environment is not visible",
    category: "secrets",
    sh: "env; cat /proc/1/environ /proc/self/environ | tr '\\0' '\\n'",
    expect: ({ result, env }) =>
      all(
        unless(!result.stdout.includes(env.fakeToken), "the fake token is visible"),
        unless(!result.stdout.includes(env.fakeTokenName), "the fake token's name is visible"),
        unless(/^PATH=\/usr\/bin:\/bin$/m.test(result.stdout), `unexpected pid 1 env: ${result.stdout}`),
      ),
  },
  {
    name: "pid 1's environment is the launcher's fixed set: not the host's working directory (PWD) nor anything else",
    category: "secrets",
    sh: "tr '\\0' '\\n' < /proc/1/environ",
    expect: ({ result }) =>
      all(
        unless(!result.stdout.includes(process.cwd()), `the host's working directory is visible: ${result.stdout}`),
        unless(result.stdout === "PATH=/usr/bin:/bin\n", `pid 1's environment is not exactly PATH: ${JSON.stringify(result.stdout)}`),
      ),
  },
  {
    name: "no secrets in pid 1's command line",
    category: "secrets",
    sh: "cat /proc/1/cmdline | tr '\\0' ' '",
    expect: ({ result, env }) => unless(!result.stdout.includes(env.fakeToken), "the fake token is in argv"),
  },
  {
    name: "no credentials under HOME",
    category: "secrets",
    sh: "echo $HOME; ls -a ~; cat ~/.ssh/id_rsa ~/.aws/credentials ~/.git-credentials ~/.config/gh/hosts.yml 2>&1 | grep -v 'No such'; true",
    expect: ({ result }) => unless(result.stdout === "/scratch\n.\n..\n", `home: ${result.stdout}`),
  },
  {
    name: "no inherited file descriptors",
    category: "secrets",
    sh: "ls /proc/self/fd",
    expect: ({ result }) => unless(result.stdout === "0\n1\n2\n3\n", `open fds: ${result.stdout}`),
  },
  {
    name: "printed provider tokens come out redacted",
    category: "secrets",
    sh:
      "echo ghp_$(printf 'a1B2c3D4e5F6%.0s' 1 2 3); echo sk-ant-api03-$(head -c 60 /dev/zero | tr '\\0' " +
      "Q)AA; echo AKIA$(printf 'QWERTYUIOPASDFGH')",
    expect: ({ result, modelSees }) =>
      all(
        unless(result.stdout.includes("ghp_"), "the probe printed nothing"),
        unless(!/ghp_a1B2|sk-ant-api03-Q|AKIAQWERTY/.test(modelSees), `a token reached the model: ${modelSees}`),
        unless(modelSees.includes("[REDACTED]"), modelSees),
      ),
  },
  {
    name: "the parent's secret echoed back comes out redacted, also in base64, wrapped base64 and hex",
    category: "secrets",
    sh: (env) =>
      `echo ${env.fakeToken}; printf %s 'x${env.fakeToken}' | base64 -w0; echo; printf %s ` +
      `'${"y".repeat(45)}${env.fakeToken}' | base64; printf %s '${env.fakeToken}' | od -An -tx1 | tr -d ' \\n'`,
    expect: ({ modelSees, env }) => {
      const joined = modelSees.replace(/\n/g, "");
      const wrapped = Buffer.from(`${"y".repeat(45)}${env.fakeToken}`)
        .toString("base64")
        .slice(62, 90);
      return all(
        unless(!modelSees.includes(env.fakeToken), "the secret reached the model"),
        unless(!modelSees.includes(Buffer.from(`x${env.fakeToken}`).toString("base64").slice(4, 30)), "base64 form reached the model"),
        unless(!joined.includes(wrapped), `wrapped base64 form reached the model: ${modelSees}`),
        unless(!modelSees.includes(Buffer.from(env.fakeToken).toString("hex").slice(0, 24)), `hex form reached the model: ${modelSees}`),
      );
    },
  },
];

function statSizeOr(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Runs one case through the real sandbox with the small hostile limits and judges it. */
export async function runHostileCase(
  hostileCase: HostileCase,
  env: HostileEnvironment,
): Promise<{ problem: string | undefined; result: SandboxResult }> {
  const code = (source: string | ((env: HostileEnvironment) => string)) => (typeof source === "function" ? source(env) : source);
  const argv = hostileCase.sh
    ? ["/bin/bash", "-c", code(hostileCase.sh)]
    : hostileCase.python
      ? ["/usr/bin/python3", "-I", "-B", "-c", code(hostileCase.python)]
      : undefined;
  if (!argv) throw new Error(`hostile case ${hostileCase.name} has neither sh nor python`);
  const result = await testSandbox.run({
    policy: DEFAULT_SANDBOX_POLICY,
    argv,
    scratchDir: env.scratchFor(hostileCase.name),
    timeoutMs: hostileCase.timeoutMs ?? HOSTILE_DEFAULT_TIMEOUT_MS,
    limits: { ...HOSTILE_LIMITS, ...hostileCase.limits },
  });
  // What the sh tool hands back, after the redactor in runTool.
  const modelSees = redact(describeSandboxResult(result).output);
  const problem = await hostileCase.expect({ result, modelSees, env });
  return { problem, result };
}
