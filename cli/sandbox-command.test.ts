import { writeConfirmedConfig } from "../testing/confirmed-config.ts";
import { afterAll, describe, expect, test } from "bun:test";
import { orgCommand } from "../config/org-bun-command.ts";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UsageError } from "./command/command.ts";
import { parseRunArgs, sandboxCommand } from "./sandbox-command.ts";

const main = join(import.meta.dir, "..", "main.ts");

// Where the commands run: `sandbox run` shows the current directory at /workspace, as the room does.
const here = mkdtempSync(join(tmpdir(), "org-sandbox-cwd-"));
chmodSync(here, 0o755);
afterAll(() => rmSync(here, { recursive: true, force: true }));

async function org(...args: string[]) {
  return orgIn(here, ...args);
}

async function orgIn(cwd: string, ...args: string[]) {
  const proc = Bun.spawn(orgCommand(args), { cwd, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, exitCode };
}

describe("sandbox command", () => {
  test("--net, the host's whole network, is refused to a caller whose stdin is not a terminal", async () => {
    // A test's stdin is no terminal, as a script's, a job's or a model's is not.
    expect(process.stdin.isTTY).not.toBe(true);
    const run = sandboxCommand.run(["run", "--net", "--", "true"], new AbortController().signal);
    await expect(run).rejects.toThrow(/--net shares the host's whole network and is for a person at a terminal.*sandbox\.egress/);
  });

  test("parses flags before -- and leaves the command's own flags alone", () => {
    expect(parseRunArgs(["--timeout-ms", "500", "--mem-mb", "64", "--net", "--", "grep", "--help"])).toEqual({
      timeoutMs: 500,
      memoryMb: 64,
      network: true,
      argv: ["grep", "--help"],
    });
    expect(() => parseRunArgs(["echo"])).toThrow(UsageError);
    expect(() => parseRunArgs(["--timeout-ms", "x", "--", "true"])).toThrow(/positive number/);
    expect(() => parseRunArgs(["--bogus", "--", "true"])).toThrow(/unknown option/);
  });

  test("run prints the result as JSON and exits 0 even when the command fails", async () => {
    const { stdout, exitCode } = await org("sandbox", "run", "--timeout-ms", "5000", "--", "sh", "-c", "echo hi; exit 4");
    expect(exitCode).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ exitCode: 4, stdout: "hi\n", timedOut: false, truncated: false });
  });

  test.if(process.getuid?.() === 0)("as root, run refuses to take over a scratch directory that holds someone's files", async () => {
    const directory = mkdtempSync(join(tmpdir(), "org-sandbox-scratch-"));
    try {
      writeFileSync(join(directory, "mine.txt"), "mine\n");
      const { stderr, exitCode } = await org("sandbox", "run", "--scratch", directory, "--", "true");
      expect(exitCode).toBe(1);
      expect(stderr).toMatch(/^org: scratch directory .* already holds files and belongs to uid 0\. .*give an empty directory or a new path\.\n$/);
      expect(statSync(directory).uid).toBe(0);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  test("check passes for a workspace under a private (0700) directory, and names a scratch root it cannot use", async () => {
    const closed = mkdtempSync(join(tmpdir(), "org-sandbox-closed-"));
    try {
      const { stdout, exitCode } = await org("sandbox", "check", "--workspace", join(closed, "ws"));
      expect(stdout).toContain(`ok   workspace: scratch under ${join(closed, "ws", ".org", "scratch")} is private to this user (0700)`);
      expect(stdout).toContain("ok   seccomp and privileges:");
      expect(stdout).toContain("ok   egress guard: the guard starts and answers inside; a connection around it finds no way out");
      expect(stdout).toContain("The sandbox works here.");
      expect(exitCode).toBe(0);
      const spelled = await org("sandbox", "check", `--workspace=${join(closed, "ws")}`);
      expect(spelled.stdout).toBe(stdout);
      expect((await org("sandbox", "check", "--workspace")).exitCode).toBe(2);
      mkdirSync(join(closed, "ws", ".org"), { recursive: true });
      symlinkSync(closed, join(closed, "ws", ".org", "scratch"));
      const linked = await org("sandbox", "check", "--workspace", join(closed, "ws"));
      expect(linked.stdout).toContain(`FAIL workspace: ${join(closed, "ws", ".org", "scratch")} is not a plain directory`);
      expect(linked.stdout).toContain("The sandbox works, but not for this workspace");
      expect(linked.exitCode).toBe(1);
    } finally {
      rmSync(closed, { recursive: true, force: true });
    }
  });

  test("run with a file as scratch says so in one line", async () => {
    const { stderr, exitCode } = await org("sandbox", "run", "--scratch", main, "--", "true");
    expect(exitCode).toBe(1);
    expect(stderr).toBe(`org: scratch path ${main} is not a plain directory (a symlink or a file); give a directory, or a path to create\n`);
  });

  test("run reports a timeout in the JSON", async () => {
    const { stdout } = await org("sandbox", "run", "--timeout-ms", "200", "--", "sleep", "10");
    expect(JSON.parse(stdout)).toMatchObject({ timedOut: true, exitCode: null });
  });

  test("check says the sandbox works here", async () => {
    const { stdout, exitCode } = await org("sandbox", "check");
    expect(stdout).toContain("The sandbox works here.");
    expect(exitCode).toBe(0);
  });

  test("a wrong command line exits 2 with a hint", async () => {
    const { stderr, exitCode } = await org("sandbox", "run", "--");
    expect(exitCode).toBe(2);
    expect(stderr).toContain("needs a command after --");
  });
});

describe("sandbox run sees the workspace as the room's commands do", () => {
  /** A project with one file, readable by the sandbox's uid; `view` written as its sandbox.workspace when given. */
  function project(view?: string): string {
    const dir = mkdtempSync(join(tmpdir(), "org-sandbox-project-"));
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "notes.txt"), "one\ntwo\n");
    if (view) writeConfirmedConfig(dir, { sandbox: { workspace: view } });
    return dir;
  }
  /** Writes `text` at `path` in `dir`, making the folders on its way (0755). */
  function writeIn(dir: string, path: string, text: string): void {
    mkdirSync(join(dir, path, ".."), { recursive: true, mode: 0o755 });
    writeFileSync(join(dir, path), text);
  }
  const run = (stdout: string) => JSON.parse(stdout) as { exitCode: number; stdout: string; stderr: string; workspace: Record<string, unknown> };

  test("under the workspace's sandbox.egress, the command reaches the network through the guard and the JSON says what it refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "org-sandbox-egress-"));
    chmodSync(dir, 0o755);
    try {
      writeConfirmedConfig(dir, { sandbox: { egress: { allow: ["example.com"] } } });
      const { stdout, exitCode } = await orgIn(
        dir,
        "sandbox",
        "run",
        "--",
        "sh",
        "-c",
        "env | grep -c -i _proxy=; curl -sS --max-time 5 http://evil.invalid/",
      );
      expect(exitCode).toBe(0);
      const result = JSON.parse(stdout) as { stdout: string; egress?: string };
      expect(result.stdout).toBe(
        "6\norg's egress guard refused evil.invalid:80: not on sandbox.egress.allow. " +
          "To allow it, add it to sandbox.egress.allow in org.config.json.\n",
      );
      expect(result.egress).toBe("refused evil.invalid: not on sandbox.egress.allow");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("the current directory, read-only at /workspace where the command starts, .org/ hidden, by default", async () => {
    const dir = project();
    try {
      mkdirSync(join(dir, ".org"), { recursive: true, mode: 0o700 });
      const { stdout, exitCode } = await orgIn(dir, "sandbox", "run", "--", "sh", "-c", "pwd; cat notes.txt; ls -A .org | wc -l; echo x > new.txt");
      expect(exitCode).toBe(0);
      const result = run(stdout);
      // Before --workspace there was no /workspace at all: the command started in /scratch.
      expect(result.stdout).toBe("/workspace\none\ntwo\n0\n");
      expect(result.stderr).toContain("Read-only file system");
      expect(result.workspace).toEqual({ dir, view: "read" });
      expect(existsSync(join(dir, "new.txt"))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.if(process.getuid?.() === 0)("as root, a workspace other users may not enter is not shown, and the JSON says why", async () => {
    const dir = project();
    try {
      chmodSync(dir, 0o700);
      const result = run((await org("sandbox", "run", "--workspace", dir, "--", "pwd")).stdout);
      expect(result.stdout).toBe("/scratch\n");
      expect(String(result.workspace.notShown)).toContain("the workspace is not shown at /workspace: org runs as root");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // Newcomer review, item 1: as root the sandbox runs as its own uid, which cannot enter a folder closed to others;
  // a secret file's cover there could not be placed, and every command failed. Run as another user it must pass too.
  test("secret files inside folders the sandbox's uid may not enter: every command still runs, and no secret shows", async () => {
    const dir = project();
    try {
      const write = (path: string, text: string) => writeIn(dir, path, text);
      write("sub/priv/server.key", "closed-key-material\n");
      write("sub/priv/notes.txt", "closed-notes\n");
      // An org checkout nested in the workspace: its .org is private, and its gate key a secret by name.
      write("org2/.org/fitness/gate.key", "nested-gate-key\n");
      write("org2/README.md", "nested readme\n");
      // A secret folder (.env* names folders too) below a closed folder, and a folder one may pass but not list.
      write("deep/closed/inner/.env.d/x", "deep-secret\n");
      write("passable/.env", "PASSABLE=passable-secret\n");
      write("passable/open.txt", "passable-open\n");
      chmodSync(join(dir, "sub", "priv"), 0o700);
      chmodSync(join(dir, "org2", ".org"), 0o700);
      chmodSync(join(dir, "deep", "closed"), 0o700);
      chmodSync(join(dir, "passable"), 0o711);
      // A secret-named link at the top to a secret-less name inside the closed folder.
      symlinkSync("sub/priv/notes.txt", join(dir, ".env.link"));
      const command =
        "cat notes.txt org2/README.md passable/open.txt; cat passable/.env sub/priv/server.key org2/.org/fitness/gate.key deep/closed/inner/.env.d/x .env.link 2>/dev/null; echo end";
      // Settled folders: the second call takes the walk the first kept, with what the link shows covered again.
      mkdirSync(join(dir, ".org"), { mode: 0o700 });
      await Bun.sleep(120);
      for (const call of ["walked", "kept walk"]) {
        if (call === "kept walk") expect(readFileSync(join(dir, ".org", "secret-scan.json"), "utf8")).toContain('"walk":{');
        const { stdout, exitCode } = await orgIn(dir, "sandbox", "run", "--", "sh", "-c", command);
        expect([call, exitCode]).toEqual([call, 0]);
        const result = run(stdout);
        expect(result.stderr).not.toContain("bwrap");
        expect(result.exitCode).toBe(0);
        expect(result.stdout).toStartWith("one\ntwo\nnested readme\npassable-open\n");
        expect(result.stdout).toEndWith("end\n");
        for (const secret of ["closed-key-material", "closed-notes", "nested-gate-key", "deep-secret", "passable-secret"])
          expect([call, result.stdout]).not.toEqual([call, expect.stringContaining(secret)]);
      }
      // The secrets are where they were.
      expect(readdirSync(join(dir, "sub", "priv")).sort()).toEqual(["notes.txt", "server.key"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // The read view's scan keeps its walk in .org/ and the next call takes it after an lstat of every folder it reached.
  test("a secret file made, renamed or linked between two calls, deep in node_modules too, is hidden in the next call", async () => {
    const dir = project();
    try {
      const write = (path: string, text: string) => writeIn(dir, path, text);
      write("node_modules/pkg/lib/deep/index.js", "module.exports = 1;\n");
      write("src/token.txt", "renamed-secret\n");
      write("src/plain.json", "linked-secret\n");
      const paths = ["node_modules/pkg/lib/deep/.env", "src/id_rsa", "node_modules/pkg/.npmrc", ".env.link"];
      const call = async () => {
        const { stdout, exitCode } = await orgIn(dir, "sandbox", "run", "--", "sh", "-c", `cat notes.txt ${paths.join(" ")} 2>/dev/null; echo end`);
        expect(exitCode).toBe(0);
        return run(stdout).stdout;
      };
      // Settled folders (a listing is kept once its folder's ctime is 50 ms old, and the call makes .org/ at the top
      // unless it is there): the first call keeps its walk.
      mkdirSync(join(dir, ".org"), { mode: 0o700 });
      await Bun.sleep(120);
      expect(await call()).toBe("one\ntwo\nend\n");
      const kept = JSON.parse(readFileSync(join(dir, ".org", "secret-scan.json"), "utf8").split("\n")[0] ?? "");
      expect(kept.walk.folders).toContain("node_modules/pkg/lib/deep");
      write("node_modules/pkg/lib/deep/.env", "DEEP=deep-made-secret\n");
      renameSync(join(dir, "src/token.txt"), join(dir, "src/id_rsa"));
      symlinkSync("../../src/plain.json", join(dir, "node_modules/pkg/.npmrc"));
      symlinkSync("src/plain.json", join(dir, ".env.link"));
      const next = await call();
      expect(next).toStartWith("one\ntwo\n");
      for (const secret of ["deep-made-secret", "renamed-secret", "linked-secret"]) expect(next).not.toContain(secret);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("--workspace DIR with the write view: a private copy, what changed listed and never applied; none shows nothing", async () => {
    const dir = project("write");
    try {
      const { stdout, exitCode } = await org(
        "sandbox",
        "run",
        "--workspace",
        dir,
        "--",
        "sh",
        "-c",
        "echo three >> notes.txt; echo x > made.txt; cat notes.txt",
      );
      expect(exitCode).toBe(0);
      const result = run(stdout);
      expect(result.stdout).toBe("one\ntwo\nthree\n");
      expect(result.workspace).toEqual({ dir, view: "write", changed: ["made.txt", "notes.txt"] });
      expect(readdirSync(dir).sort()).toEqual([".org", "notes.txt", "org.config.json"]);
      // The next run starts from the workspace as it is, not from what the last one left in its copy.
      const again = run((await org("sandbox", "run", "--workspace", dir, "--", "cat", "notes.txt")).stdout);
      expect(again.stdout).toBe("one\ntwo\n");
      writeFileSync(join(dir, "none.config.json"), JSON.stringify({ sandbox: { workspace: "none" } }));
      const none = run(
        (await org("sandbox", "run", "--workspace", dir, "--config", join(dir, "none.config.json"), "--", "sh", "-c", "pwd; ls /workspace")).stdout,
      );
      expect(none.stdout).toBe("/scratch\n");
      expect(none.exitCode).not.toBe(0);
      expect(none.workspace).toEqual({ dir, view: "none" });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
