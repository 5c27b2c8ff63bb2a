import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startLinkSwapper } from "../testing/link-swapper-process.ts";
import { appendInsideWorkspace, protectedTargetProblem, UnsafeWriteError } from "./safe-file-write.ts";
import { errorCode } from "../concurrency/error-code.ts";

const base = mkdtempSync(join(tmpdir(), "org-safe-write-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
let count = 0;

/** A workspace and, beside it, a directory standing for the rest of the host. */
function places() {
  const workspace = join(base, `ws-${count}`);
  const outside = join(base, `host-${count++}`);
  mkdirSync(workspace);
  mkdirSync(outside);
  return { workspace, outside };
}

const refusedWith = (run: () => unknown, pattern: RegExp) => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(UnsafeWriteError);
    expect((error as Error).message).toMatch(pattern);
    return;
  }
  throw new Error("the write was not refused");
};

describe("appendInsideWorkspace", () => {
  test("appends to a file inside the workspace, creating its directories", () => {
    const { workspace } = places();
    expect(appendInsideWorkspace(workspace, "notes/day/replies.md", "one\n")).toEqual({ bytes: 4 });
    appendInsideWorkspace(workspace, "notes/day/replies.md", "two\n");
    expect(readFileSync(join(workspace, "notes/day/replies.md"), "utf8")).toBe("one\ntwo\n");
  });

  test("a symlinked parent directory is refused and nothing is written outside", () => {
    const { workspace, outside } = places();
    mkdirSync(join(workspace, "notes"));
    symlinkSync(outside, join(workspace, "notes", "day"));
    refusedWith(() => appendInsideWorkspace(workspace, "notes/day/replies.md", "x"), /notes\/day is a symbolic link/);
    expect(existsSync(join(outside, "replies.md"))).toBe(false);
  });

  test("a symlink as the file itself is refused, even one that points inside the workspace", () => {
    const { workspace, outside } = places();
    writeFileSync(join(outside, "host.txt"), "host\n");
    symlinkSync(join(outside, "host.txt"), join(workspace, "out.md"));
    refusedWith(() => appendInsideWorkspace(workspace, "out.md", "x"), /symbolic link/);
    expect(readFileSync(join(outside, "host.txt"), "utf8")).toBe("host\n");
    writeFileSync(join(workspace, "real.md"), "");
    symlinkSync("real.md", join(workspace, "alias.md"));
    refusedWith(() => appendInsideWorkspace(workspace, "alias.md", "x"), /symbolic link/);
  });

  test("a FIFO is refused at once, a hard link to another file is refused", () => {
    const { workspace, outside } = places();
    execFileSync("mkfifo", [join(workspace, "pipe.md")]);
    refusedWith(() => appendInsideWorkspace(workspace, "pipe.md", "x"), /not a plain file/);
    writeFileSync(join(outside, "host.txt"), "host\n");
    try {
      linkSync(join(outside, "host.txt"), join(workspace, "linked.md"));
    } catch {
      return; // another file system: no hard link to test
    }
    refusedWith(() => appendInsideWorkspace(workspace, "linked.md", "x"), /hard links/);
    expect(readFileSync(join(outside, "host.txt"), "utf8")).toBe("host\n");
  });

  test(".org/, .git, org.config.json and another protected file are refused; ../ and absolute paths too", () => {
    const { workspace } = places();
    mkdirSync(join(workspace, ".org", "sessions"), { recursive: true });
    for (const path of [".org/sessions/s.jsonl", ".org/audit/2026-01-01.jsonl", "./.org/x", "a/../.org/scratch/s/t"]) {
      refusedWith(() => appendInsideWorkspace(workspace, path, "forged\n"), /inside \.org\//);
    }
    refusedWith(() => appendInsideWorkspace(workspace, "src/.git/config", "x"), /\.git/);
    refusedWith(() => appendInsideWorkspace(workspace, "org.config.json", "x", { protectedFiles: ["org.config.json"] }), /configuration file/);
    refusedWith(
      () => appendInsideWorkspace(workspace, "conf/room.json", "x", { protectedFiles: [join(workspace, "conf/room.json")] }),
      /configuration file/,
    );
    refusedWith(() => appendInsideWorkspace(workspace, "../escape.md", "x"), /not a file inside the workspace/);
    refusedWith(() => appendInsideWorkspace(workspace, "/etc/passwd", "x"), /absolute/);
    // Only plain text, checked again at write time (a mode restored or set before the rule existed).
    for (const path of [".env", "bunfig.toml", "a/.hidden/x.md", "notes.md.sh", "X.MD", "package.json"]) {
      refusedWith(() => appendInsideWorkspace(workspace, path, "ORG_SANDBOX=off\n"), /ending in \.md, \.txt or \.log/);
      expect(existsSync(join(workspace, path))).toBe(false);
    }
    expect(protectedTargetProblem(workspace, "notes/org.config.json", ["org.config.json"])).toBeUndefined();
    expect(existsSync(join(workspace, "org.config.json"))).toBe(false);
  });

  test("the real race: a child process swaps the file for a link to the host while 2000 appends run; zero bytes land outside", async () => {
    const { workspace, outside } = places();
    const hostFile = join(outside, "authorized_keys");
    await using swapper = await startLinkSwapper(join(workspace, "target.md"), hostFile);
    let written = 0;
    let refused = 0;
    // At least 2000 appends, and on until both outcomes were seen: on a loaded machine the swapper can sleep
    // through a whole batch with the link in place. Bounded by the attempt count, never by the clock.
    for (let attempt = 0; attempt < 2000 || ((written === 0 || refused === 0) && attempt < 200_000); attempt += 1) {
      try {
        appendInsideWorkspace(workspace, "target.md", "reply\n");
        written += 1;
      } catch (error) {
        if (!(error instanceof UnsafeWriteError)) throw error;
        refused += 1;
      }
    }
    await swapper.stop();
    expect(refused).toBeGreaterThan(0);
    expect(written).toBeGreaterThan(0);
    expect(existsSync(hostFile) ? statSync(hostFile).size : 0).toBe(0);
  }, 60_000);

  test("the real race on a parent directory: swapped for a link to the host, zero bytes land outside", async () => {
    const { workspace, outside } = places();
    await using swapper = await startLinkSwapper(join(workspace, "notes"), outside, "directory");
    let refused = 0;
    for (let attempt = 0; attempt < 2000 || (refused === 0 && attempt < 200_000); attempt += 1) {
      try {
        appendInsideWorkspace(workspace, "notes/target.md", "reply\n");
      } catch (error) {
        if (!(error instanceof UnsafeWriteError) && errorCode(error) !== "ENOENT") throw error;
        refused += 1;
      }
    }
    await swapper.stop();
    expect(refused).toBeGreaterThan(0);
    expect(existsSync(join(outside, "target.md"))).toBe(false);
  }, 60_000);
});
