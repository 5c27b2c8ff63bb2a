import { describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSeccompFilter } from "./seccomp-filter.ts";

const SECCOMP_RET_KILL_PROCESS = 0x80000000;
const SECCOMP_RET_ALLOW = 0x7fff0000;

function instructions(program: Uint8Array) {
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
  return Array.from({ length: program.byteLength / 8 }, (_, index) => ({
    code: view.getUint16(index * 8, true),
    jt: view.getUint8(index * 8 + 2),
    jf: view.getUint8(index * 8 + 3),
    k: view.getUint32(index * 8 + 4, true),
  }));
}

/** Runs `argv` under bwrap with `program` as its seccomp filter (nothing else of the sandbox). */
async function underFilter(program: Uint8Array, argv: string[]) {
  const directory = mkdtempSync(join(tmpdir(), "org-seccomp-"));
  try {
    writeFileSync(join(directory, "filter.bpf"), program);
    const fd = openSync(join(directory, "filter.bpf"), "r");
    const proc = Bun.spawn(
      [
        "bwrap",
        "--unshare-all",
        "--die-with-parent",
        "--new-session",
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/bin",
        "/bin",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--seccomp",
        "3",
        "--",
        ...argv,
      ],
      { env: { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "pipe", "pipe", fd] },
    );
    closeSync(fd);
    const [stdout, exitCode] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    return { stdout, exitCode };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

describe("seccomp filter", () => {
  test("checks the audit arch first and kills the process on a mismatch", () => {
    for (const [arch, audit] of [
      ["x64", 0xc000003e],
      ["arm64", 0xc00000b7],
    ] as const) {
      const [load, check] = instructions(buildSeccompFilter(arch));
      expect(load).toEqual({ code: 0x20, jt: 0, jf: 0, k: 4 });
      expect(check?.k).toBe(audit);
      const program = instructions(buildSeccompFilter(arch));
      const killIndex = 2 + (check?.jf ?? 0);
      expect(program[killIndex]).toEqual({ code: 0x06, jt: 0, jf: 0, k: SECCOMP_RET_KILL_PROCESS });
    }
  });

  test("every jump lands inside the program and every path ends in a return", () => {
    for (const arch of ["x64", "arm64"]) {
      const program = instructions(buildSeccompFilter(arch));
      program.forEach((instruction, index) => {
        if ((instruction.code & 0x07) === 0x05) {
          expect(index + 1 + instruction.jt).toBeLessThan(program.length);
          expect(index + 1 + instruction.jf).toBeLessThan(program.length);
        }
      });
      expect(program.at(-1)?.code).toBe(0x06);
      expect(program.some((instruction) => instruction.code === 0x06 && instruction.k === SECCOMP_RET_ALLOW)).toBe(true);
    }
  });

  test("refuses architectures it has no syscall table for", () => {
    expect(() => buildSeccompFilter("ia32")).toThrow(/x86_64 and aarch64/);
  });

  test("on this machine: ordinary work runs, blocked calls get their errno", async () => {
    const { stdout, exitCode } = await underFilter(buildSeccompFilter(), [
      "/usr/bin/python3",
      "-I",
      "-c",
      [
        "import ctypes, os, socket, subprocess, threading",
        "libc = ctypes.CDLL(None, use_errno=True)",
        "def errno(rc): return ctypes.get_errno() if rc == -1 else 0",
        "print('unshare', errno(libc.unshare(0x10000000)))",
        "print('tiocsti', errno(libc.ioctl(1, 0x5412, ctypes.c_char_p(b'x'))))",
        "print('ioctl-other', errno(libc.ioctl(1, 0x5413, ctypes.create_string_buffer(8))))",
        "print('io_uring', errno(libc.syscall(425, 1, ctypes.create_string_buffer(120))))",
        "print('subprocess', subprocess.run(['true']).returncode)",
        "t = threading.Thread(target=print, args=('thread',)); t.start(); t.join()",
        "socket.socket(socket.AF_INET); print('inet ok')",
      ].join("\n"),
    ]);
    expect(exitCode).toBe(0);
    // TIOCGWINSZ on a pipe is an ordinary ENOTTY (25): only TIOCSTI/TIOCLINUX are refused.
    expect(stdout).toBe("unshare 1\ntiocsti 1\nioctl-other 25\nio_uring 38\nsubprocess 0\nthread\ninet ok\n");
  });

  test.if(process.arch === "x64")("a filter for another architecture kills the command (SIGSYS)", async () => {
    const { exitCode } = await underFilter(buildSeccompFilter("arm64"), ["/usr/bin/true"]);
    expect(exitCode).toBe(128 + 31);
  });
});
