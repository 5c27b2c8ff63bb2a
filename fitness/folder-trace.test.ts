import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { firstFolderAccess, readTrace, type TraceReading, tracedArgv, workingStrace } from "./folder-trace.ts";

const strace = workingStrace();
const scratch = mkdtempSync(join(tmpdir(), "org-folder-trace-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A worktree with one tool folder, and elsewhere a workspace with a tools/generated/ of its own. */
function layout(name: string): { worktree: string; elsewhere: string } {
  const worktree = join(scratch, name, "worktree");
  const elsewhere = join(scratch, name, "elsewhere");
  for (const root of [worktree, elsewhere]) {
    mkdirSync(join(root, "tools", "generated", "word_count"), { recursive: true });
    writeFileSync(join(root, "tools", "generated", "word_count", "tool.ts"), "export {};\n");
  }
  writeFileSync(join(worktree, ".git"), `gitdir: ${join(scratch, name, "admin")}\n`);
  return { worktree, elsewhere };
}

/** Runs `script` with sh under strace in the worktree and says what the trace shows it touched. */
function traced(worktree: string, script: string): string | undefined {
  return tracedReading(worktree, script).firstAccess;
}

/** Runs `script` with sh under strace in the worktree and reads the whole trace. */
function tracedReading(worktree: string, script: string): TraceReading {
  const output = join(worktree, "..", `${Math.random().toString(36).slice(2)}.trace`);
  const run = Bun.spawnSync(tracedArgv(strace ?? "", output, ["/bin/sh", "-c", script]), {
    cwd: worktree,
    stdout: "ignore",
    stderr: "ignore",
    timeout: 30_000,
  });
  expect(run.exitCode).toBe(0);
  return readTrace(readFileSync(output, "utf8"), worktree);
}

test.skipIf(!strace)("what a traced process reads of the worktree's tools/generated/ counts, however it names it; another folder's does not", () => {
  const { worktree, elsewhere } = layout("real");
  // Opened by a relative path, stat'ed after changing into tools/, stat'ed by its absolute path, listed.
  expect(traced(worktree, "cat tools/generated/word_count/tool.ts")).toBeDefined();
  expect(traced(worktree, "cd tools && test -e generated/nothing_here || true")).toBeDefined();
  expect(traced(worktree, `test -d ${join(worktree, "tools", "generated")}`)).toBeDefined();
  expect(traced(worktree, "ls tools/generated > /dev/null")).toBeDefined();
  // Handed to another program (a sandbox's bind, a link), or the worktree's git state.
  expect(traced(worktree, `ln -s ${join(worktree, "tools", "generated")} ${join(elsewhere, "link")}`)).toBeDefined();
  expect(traced(worktree, "cat .git > /dev/null")).toBeDefined();
  // A child that changed into another folder and reads its tools/generated/, or a child in the worktree reading its code.
  expect(traced(worktree, `cd ${elsewhere} && cat tools/generated/word_count/tool.ts && ls tools/generated > /dev/null`)).toBeUndefined();
  expect(traced(worktree, `(cd ${elsewhere}; cat tools/generated/word_count/tool.ts); ls > /dev/null`)).toBeUndefined();
});

test("lines a trace cannot place count: a relative path of a process whose directory is unknown, and io_uring", () => {
  const { worktree } = layout("lines");
  const root = `100 execve("/bin/sh", ["sh"], []) = 0\n`;
  // 200 appears without a fork the log shows: its working directory is unknown.
  expect(firstFolderAccess(`${root}200 access("tools/generated/x", F_OK) = -1 ENOENT (No such file or directory)\n`, worktree)).toBeDefined();
  expect(firstFolderAccess(`${root}200 access("README.md", F_OK) = 0\n`, worktree)).toBeUndefined();
  expect(firstFolderAccess(`${root}100 io_uring_setup(8, {}) = 3\n`, worktree)).toBeDefined();
  // A vfork's child logged before its parent's resume line still starts in the parent's directory.
  const forked = [
    `100 chdir("${scratch}") = 0`,
    "100 vfork( <unfinished ...>",
    `201 chdir("lines/worktree/tools") = 0`,
    `201 newfstatat(AT_FDCWD</elsewhere>, "${join(worktree, "x")}", 0x1, 0) = -1 ENOENT (No such file or directory)`,
    `201 access("generated", F_OK) = 0`,
    "100 <... vfork resumed>) = 201",
  ];
  expect(firstFolderAccess([root, ...forked].join("\n"), worktree)).toBe(`201 access("generated", F_OK) = 0`);
  // A listing's entry names are not opened; a descriptor of the folder is.
  expect(firstFolderAccess(`${root}100 getdents64(3<${join(worktree, "tools")}>, [{d_name="generated"}], 8192) = 48\n`, worktree)).toBeUndefined();
  expect(firstFolderAccess(`${root}100 getdents64(3<${join(worktree, "tools", "generated")}>, [], 8192) = 0\n`, worktree)).toBeDefined();
});

test.skipIf(!strace)(
  "the rest of the worktree a traced process touches is kept: files read or looked for, folders listed, paths handed on whole; not node_modules",
  () => {
    const { worktree, elsewhere } = layout("paths");
    mkdirSync(join(worktree, "room"));
    writeFileSync(join(worktree, "room", "room.ts"), "export {};\n");
    mkdirSync(join(worktree, "node_modules", "zod"), { recursive: true });
    writeFileSync(join(worktree, "node_modules", "zod", "index.js"), "\n");
    const reading = tracedReading(
      worktree,
      [
        "cat room/room.ts node_modules/zod/index.js > /dev/null",
        "test -e docs/absent.md || true",
        "ls room > /dev/null",
        // Handed on: as an argument (a sandbox's bind), as a link's target.
        `/bin/echo ${join(worktree, "docs")} > /dev/null`,
        `ln -s ${join(worktree, "config")} ${join(elsewhere, "config-link")}`,
        // Through a descriptor of a folder: the kernel resolves /proc/self/fd/3 to it.
        `exec 3< ${join(worktree, "room")}; test -e /proc/self/fd/3/absent.ts || true`,
      ].join("; "),
    );
    expect(reading.firstAccess).toBeUndefined();
    expect(reading.unplaced).toBe(false);
    expect([...reading.touched]).toEqual(expect.arrayContaining(["room/room.ts", "docs/absent.md", "room/absent.ts"]));
    expect([...reading.touched].filter((path) => path.startsWith("node_modules"))).toEqual([]);
    expect([...reading.listed]).toEqual(["room"]);
    // sh -c's own argument names the three folders whole.
    expect([...reading.handed].sort()).toEqual(["config", "docs", "room"]);
  },
);

test("what the log cannot place counts as any file: a relative path of an unknown directory, a descriptor never shown, io_uring", () => {
  const { worktree } = layout("unplaced");
  const root = `100 execve("/bin/sh", ["sh"], []) = 0\n`;
  expect(readTrace(`${root}100 access("README.md", F_OK) = 0\n`, worktree)).toMatchObject({ unplaced: false, touched: new Set(["README.md"]) });
  expect(readTrace(`${root}200 access("README.md", F_OK) = 0\n`, worktree).unplaced).toBe(true);
  expect(readTrace(`${root}100 newfstatat(AT_FDCWD</>, "/proc/self/fd/9/x", 0x1, 0) = -1 ENOENT\n`, worktree).unplaced).toBe(true);
  // The descriptor itself is a file its process opened already (judged then), as a sandbox's /dev/stdin links to.
  expect(readTrace(`${root}100 symlink("/proc/self/fd/0", "/newroot/dev/stdin") = 0\n`, worktree).unplaced).toBe(false);
  // Another process's descriptor is placed by what that process's lines showed.
  const other = [
    root,
    `100 openat(AT_FDCWD</>, "${join(worktree, "room")}", O_RDONLY) = 7<${join(worktree, "room")}>`,
    '300 readlink("/proc/100/fd/7/x.ts", 0x1, 9) = -1 ENOENT',
  ];
  expect(readTrace(other.join("\n"), worktree).touched).toEqual(new Set(["room", "room/x.ts"]));
  // A descriptor the log showed, copied to another number: the path through it is placed.
  const copied = [
    root,
    `100 openat(AT_FDCWD</>, "${join(worktree, "cli")}", O_RDONLY) = 5<${join(worktree, "cli")}>`,
    `100 dup2(5<${join(worktree, "cli")}>, 4) = 4<${join(worktree, "cli")}>`,
  ];
  const through = readTrace([...copied, `100 newfstatat(AT_FDCWD</>, "/proc/self/fd/4/x.ts", 0x1, 0) = -1 ENOENT`].join("\n"), worktree);
  expect(through).toMatchObject({ unplaced: false, touched: new Set(["cli", "cli/x.ts"]) });
  const ring = "100 io_uring_setup(8, {}) = 3";
  expect(readTrace(`${root}${ring}\n`, worktree)).toMatchObject({ unplaced: true, firstAccess: ring });
});
