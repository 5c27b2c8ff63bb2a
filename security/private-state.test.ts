import { describe, expect, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AUDIT_DIR, HISTORY_FILE, SESSIONS_DIR } from "../config/workspace-paths.ts";
import { appendHistory } from "../cli/chat/line-editor/input-history.ts";
import { writeFitnessReport } from "../fitness/fitness-report.ts";
import { PromotionJournal } from "../cycle/promotion-journal.ts";
import { makeScratchRootPrivate } from "../sandbox/scratch-dir.ts";
import { prepareWorkspace } from "../cli/command/workspace-dir.ts";
import { openRegistryDatabase, REGISTRY_DATABASE_PATH } from "../registry/registry-database.ts";
import { resume, Transcript } from "../room/transcript.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { AuditLog } from "./audit-log.ts";
import { appendPrivateFile, ensureOrgDir, PrivateStateError, writeNewPrivateFile, writePrivateFile } from "./private-state.ts";

const isRoot = process.getuid?.() === 0;
const mode = (path: string) => lstatSync(path).mode & 0o777;

function tempDir(): { dir: string } & Disposable {
  const dir = mkdtempSync(join(tmpdir(), "org-private-"));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every writer of `.org/` state, run once against `workspace`. */
async function writeEverything(workspace: string): Promise<void> {
  Transcript.open(join(workspace, SESSIONS_DIR), "s1", { personas: ["agent"], mode: "group" }).close();
  await appendHistory(join(workspace, HISTORY_FILE), "my password is hunter2");
  new AuditLog(join(workspace, AUDIT_DIR)).record({ time: "2026-01-01T00:00:00Z", tool: "sh", arguments: {}, ok: true, durationMs: 1, bytes: 0 });
  openRegistryDatabase(join(workspace, REGISTRY_DATABASE_PATH)).database.close();
}

describe("org's private state under .org/", () => {
  test("is made 0700 for folders and 0600 for files by every writer, even under a loose umask", async () => {
    using temp = tempDir();
    const previous = process.umask(0o002);
    try {
      await writeEverything(temp.dir);
    } finally {
      process.umask(previous);
    }
    const org = join(temp.dir, ".org");
    expect(mode(org)).toBe(0o700);
    for (const folder of ["sessions", "audit", "registry"]) expect([folder, mode(join(org, folder))]).toEqual([folder, 0o700]);
    for (const file of ["sessions/s1.jsonl", "history", "audit/2026-01-01.jsonl", "registry/registry.sqlite", ".gitignore"]) {
      expect([file, mode(join(org, file))]).toEqual([file, 0o600]);
    }
  });

  test("a registry reopened writes its -wal and -shm 0600 too", () => {
    using temp = tempDir();
    const path = join(temp.dir, REGISTRY_DATABASE_PATH);
    const { database } = openRegistryDatabase(path);
    database.exec("CREATE TABLE t (x)");
    for (const suffix of ["-wal", "-shm"]) if (existsSync(`${path}${suffix}`)) expect(mode(`${path}${suffix}`)).toBe(0o600);
    expect(existsSync(`${path}-wal`)).toBe(true);
    database.close();
  });

  test("links committed as .org/sessions, audit, history, registry, fitness, scratch and promotion.lock in a cloned repository are refused", async () => {
    using origin = tempGitRepo();
    using temp = tempDir();
    const outside = join(temp.dir, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "bashrc"), "# the user's own\n");
    mkdirSync(join(origin.dir, ".org"));
    symlinkSync(outside, join(origin.dir, ".org", "sessions"));
    symlinkSync(outside, join(origin.dir, ".org", "audit"));
    symlinkSync(join(outside, "bashrc"), join(origin.dir, ".org", "history"));
    symlinkSync(outside, join(origin.dir, ".org", "registry"));
    symlinkSync(outside, join(origin.dir, ".org", "fitness"));
    symlinkSync(outside, join(origin.dir, ".org", "scratch"));
    symlinkSync(join(outside, "bashrc"), join(origin.dir, ".org", "promotion.lock"));
    gitSync(origin.dir, ["add", "-f", ".org"]);
    gitSync(origin.dir, ["commit", "-q", "-m", "plant links"]);
    const clone = join(temp.dir, "clone");
    gitSync(temp.dir, ["clone", "-q", origin.dir, clone]);
    expect(lstatSync(join(clone, ".org", "history")).isSymbolicLink()).toBe(true);

    const attempts: [string, () => unknown][] = [
      ["sessions", () => Transcript.open(join(clone, SESSIONS_DIR), "s1", { personas: ["agent"], mode: "group" })],
      ["history", () => appendHistory(join(clone, HISTORY_FILE), "echo owned")],
      [
        "audit",
        () =>
          new AuditLog(join(clone, AUDIT_DIR)).record({ time: "2026-01-01T00:00:00Z", tool: "sh", arguments: {}, ok: true, durationMs: 1, bytes: 0 }),
      ],
      ["registry", () => openRegistryDatabase(join(clone, REGISTRY_DATABASE_PATH))],
      [
        "fitness",
        () =>
          writeFitnessReport(clone, {
            version: 1,
            verdict: "pass",
            commit: "a".repeat(40),
            mainCommit: "b".repeat(40),
            checks: [],
            summary: "",
            startedAt: "2026-01-01T00:00:00.000Z",
            durationMs: 1,
          }),
      ],
      ["scratch", () => makeScratchRootPrivate(clone)],
      ["promotion.lock", () => new PromotionJournal(clone).lock()],
    ];
    for (const [name, attempt] of attempts) {
      let error: unknown;
      try {
        await attempt();
      } catch (caught) {
        error = caught;
      }
      expect([name, error instanceof Error && /is org's private state and it is a symbolic link/.test(error.message)]).toEqual([name, true]);
      expect((error as Error).message).toContain(join(clone, ".org", name));
    }
    expect(readFileSync(join(outside, "bashrc"), "utf8")).toBe("# the user's own\n");
    expect(readFileSync(join(outside, "bashrc"), "utf8")).not.toContain("owned");
    expect(existsSync(join(outside, "s1.jsonl"))).toBe(false);
    expect(existsSync(join(outside, "2026-01-01.jsonl"))).toBe(false);
    expect(existsSync(join(outside, "registry.sqlite"))).toBe(false);
    expect(readdirSync(outside)).toEqual(["bashrc"]);
  });

  test("a transcript planted as a link is not read on resume, and not appended to", () => {
    using temp = tempDir();
    const sessions = join(temp.dir, SESSIONS_DIR);
    Transcript.open(sessions, "real", { personas: ["agent"], mode: "group" }).close();
    const foreign = join(temp.dir, "foreign.jsonl");
    writeFileSync(foreign, readFileSync(join(sessions, "real.jsonl")));
    symlinkSync(foreign, join(sessions, "s1.jsonl"));
    expect(() => resume(sessions, "s1")).toThrow("it is a symbolic link");
    expect(() => Transcript.open(sessions, "s1", { personas: ["agent"], mode: "group" })).toThrow(PrivateStateError);
    expect(readFileSync(foreign, "utf8")).toBe(readFileSync(join(sessions, "real.jsonl"), "utf8"));
  });

  test("a link planted as the registry's -wal file is refused before sqlite opens it", () => {
    using temp = tempDir();
    const path = join(temp.dir, REGISTRY_DATABASE_PATH);
    openRegistryDatabase(path).database.close();
    rmSync(`${path}-wal`, { force: true });
    writeFileSync(join(temp.dir, "target"), "");
    symlinkSync(join(temp.dir, "target"), `${path}-wal`);
    expect(() => openRegistryDatabase(path)).toThrow(PrivateStateError);
    expect(readFileSync(join(temp.dir, "target"), "utf8")).toBe("");
  });

  test(".org as a link, as a file, or another user's folder: org refuses to start, naming it and why", () => {
    using temp = tempDir();
    const elsewhere = join(temp.dir, "elsewhere");
    mkdirSync(elsewhere);
    const linked = join(temp.dir, "linked");
    mkdirSync(linked);
    symlinkSync(elsewhere, join(linked, ".org"));
    expect(() => prepareWorkspace(linked)).toThrow(`${join(linked, ".org")} is org's private state and it is a symbolic link`);
    expect(existsSync(join(elsewhere, ".gitignore"))).toBe(false);

    const filed = join(temp.dir, "filed");
    mkdirSync(filed);
    writeFileSync(join(filed, ".org"), "");
    expect(() => ensureOrgDir(filed)).toThrow("it is not a directory");

    if (!isRoot) return; // chown to another user needs root
    const shared = join(temp.dir, "shared");
    mkdirSync(join(shared, ".org"), { recursive: true });
    chownSync(join(shared, ".org"), 65534, 65534);
    expect(() => prepareWorkspace(shared)).toThrow("is owned by uid 65534, not by the user running org (uid 0)");
  });

  test("a file or folder found looser is tightened through its descriptor before anything is written", async () => {
    using temp = tempDir();
    const org = join(temp.dir, ".org");
    mkdirSync(org, { mode: 0o755 });
    chmodSync(org, 0o755);
    writeFileSync(join(org, "history"), `${JSON.stringify("old")}\n`, { mode: 0o644 });
    chmodSync(join(org, "history"), 0o644);
    await appendHistory(join(temp.dir, HISTORY_FILE), "new");
    expect(mode(org)).toBe(0o700);
    expect(mode(join(org, "history"))).toBe(0o600);
    expect(readFileSync(join(org, "history"), "utf8")).toBe(`${JSON.stringify("old")}\n${JSON.stringify("new")}\n`);
  });

  test("a hard link or a FIFO in .org/ is refused without blocking", () => {
    using temp = tempDir();
    ensureOrgDir(temp.dir);
    Bun.spawnSync(["mkfifo", join(temp.dir, ".org", "fifo")]);
    expect(() => appendPrivateFile(join(temp.dir, ".org", "fifo"), "x")).toThrow(PrivateStateError);
    writeFileSync(join(temp.dir, "victim"), "");
    Bun.spawnSync(["ln", join(temp.dir, "victim"), join(temp.dir, ".org", "hard")]);
    expect(() => appendPrivateFile(join(temp.dir, ".org", "hard"), "x")).toThrow("other hard links");
    expect(readFileSync(join(temp.dir, "victim"), "utf8")).toBe("");
  });

  test("writePrivateFile replaces a planted link itself, never its target", () => {
    using temp = tempDir();
    ensureOrgDir(temp.dir);
    writeFileSync(join(temp.dir, "victim"), "kept");
    symlinkSync(join(temp.dir, "victim"), join(temp.dir, ".org", "report.json"));
    writePrivateFile(join(temp.dir, ".org", "report.json"), "{}");
    expect(readFileSync(join(temp.dir, "victim"), "utf8")).toBe("kept");
    expect(lstatSync(join(temp.dir, ".org", "report.json")).isFile()).toBe(true);
    expect(statSync(join(temp.dir, ".org", "report.json")).mode & 0o777).toBe(0o600);
  });

  // Root starts the user's process from a world-traversable temp dir: its own bun (a hard link, or a copy across
  // file systems) and the code bundled into one file, so it runs wherever this checkout lies (a clone under a 0700
  // folder such as /root or what `mktemp -d` makes is out of that user's reach).
  // Only root can switch user: the test is skipped for anyone else.
  test.skipIf(!isRoot)("run as a normal user: another user's .org is refused, its own is made 0700, a planted history link is refused", async () => {
    using temp = tempDir();
    chmodSync(temp.dir, 0o755);
    const bun = join(temp.dir, "bun");
    try {
      linkSync(process.execPath, bun);
    } catch {
      copyFileSync(process.execPath, bun);
      chmodSync(bun, 0o755);
    }
    const source = join(temp.dir, "as-user.ts");
    writeFileSync(
      source,
      `import { appendPrivateFile, ensureOrgDir } from ${JSON.stringify(join(import.meta.dir, "private-state.ts"))};
const [what, dir] = process.argv.slice(2);
try {
  if (what === "org") ensureOrgDir(dir);
  else appendPrivateFile(dir + "/.org/history", "typed\\n");
  console.log("ok");
} catch (error) {
  console.log(String(error));
}`,
    );
    const built = await Bun.build({ entrypoints: [source], target: "bun" });
    if (!built.success) throw new AggregateError(built.logs, "could not bundle the script the user runs");
    const script = join(temp.dir, "as-user.js");
    const [bundle] = built.outputs;
    if (!bundle) throw new Error("bundling the script the user runs gave no output");
    writeFileSync(script, await bundle.text());
    chmodSync(script, 0o644);
    const asNobody = async (what: string, dir: string) => {
      const child = Bun.spawn([bun, script, what, dir], {
        uid: 65534,
        gid: 65534,
        cwd: temp.dir,
        env: { PATH: "/usr/bin:/bin" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [stdout] = await Promise.all([new Response(child.stdout).text(), child.exited]);
      return stdout.trim();
    };
    const theirs = join(temp.dir, "theirs");
    mkdirSync(join(theirs, ".org"), { recursive: true });
    chownSync(theirs, 65534, 65534);
    expect(await asNobody("org", theirs)).toContain(
      `${join(theirs, ".org")} is org's private state and is owned by uid 0, not by the user running org (uid 65534)`,
    );

    const own = join(temp.dir, "own");
    mkdirSync(own);
    chownSync(own, 65534, 65534);
    expect(await asNobody("org", own)).toBe("ok");
    expect(statSync(join(own, ".org")).uid).toBe(65534);
    expect(mode(join(own, ".org"))).toBe(0o700);

    // The user plants .org/history as a link to a file only root may write; org run by that user refuses it too.
    writeFileSync(join(temp.dir, "root-only"), "");
    symlinkSync(join(temp.dir, "root-only"), join(own, ".org", "history"));
    Bun.spawnSync(["chown", "-h", "65534:65534", join(own, ".org", "history")]);
    expect(await asNobody("history", own)).toContain("history is org's private state and it is a symbolic link");
    // And root running org there refuses the same link: the typed line never reaches the target.
    expect(() => appendPrivateFile(join(own, ".org", "history"), "typed\n")).toThrow(PrivateStateError);
    expect(readFileSync(join(temp.dir, "root-only"), "utf8")).toBe("");
  });
});

describe("durable writes (private-state.ts is their one owner)", () => {
  test("writeNewPrivateFile takes the first free name, never replaces a file or follows a link there, and leaves no temporary", () => {
    using temp = tempDir();
    const dir = ensureOrgDir(temp.dir);
    writeFileSync(join(temp.dir, "victim"), "kept");
    writeFileSync(join(dir, "a.json"), "first");
    symlinkSync(join(temp.dir, "victim"), join(dir, "b.json"));
    const names = ["a.json", "b.json", "c.json"].map((name) => join(dir, name));
    expect(writeNewPrivateFile(names, "new", { durable: true })).toBe(join(dir, "c.json"));
    expect(writeNewPrivateFile(names, "again")).toBeUndefined();
    expect([
      readFileSync(join(dir, "a.json"), "utf8"),
      readFileSync(join(temp.dir, "victim"), "utf8"),
      readFileSync(join(dir, "c.json"), "utf8"),
    ]).toEqual(["first", "kept", "new"]);
    expect(mode(join(dir, "c.json"))).toBe(0o600);
    expect(readdirSync(dir).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  });

  test("a durable write fsyncs the new file before it is placed, and its folder after (strace)", () => {
    using temp = tempDir();
    const dir = ensureOrgDir(temp.dir);
    const script = join(temp.dir, "write.ts");
    writeFileSync(
      script,
      `import { writeNewPrivateFile, writePrivateFile } from ${JSON.stringify(join(import.meta.dir, "private-state.ts"))};
writePrivateFile(${JSON.stringify(join(dir, "replaced.json"))}, "{}", { durable: true });
writeNewPrivateFile([${JSON.stringify(join(dir, "new.json"))}], "{}", { durable: true });
`,
    );
    const trace = join(temp.dir, "trace");
    const run = Bun.spawnSync(
      ["strace", "-f", "-y", "-e", "trace=fsync,rename,renameat,renameat2,link,linkat", "-o", trace, process.execPath, script],
      {
        stderr: "pipe",
      },
    );
    expect(run.exitCode).toBe(0);
    // Each call as it touches the folder: what was fsynced (the temporary or the folder), and what was placed.
    const calls = readFileSync(trace, "utf8")
      .split("\n")
      .filter((line) => line.includes(dir) && / = 0$/.test(line))
      .map((line) => {
        if (/\bfsync\(/.test(line)) return line.includes(".tmp>") ? "fsync file" : `fsync ${line.includes(`${dir}>`) ? "folder" : "other"}`;
        const placed = /(rename|link)\w*\(.*"([^"]+)"\)/.exec(line);
        return `${placed?.[1] ?? "?"} ${placed?.[2]?.slice(dir.length + 1) ?? "?"}`;
      });
    expect(calls).toEqual(["fsync file", "rename replaced.json", "fsync folder", "fsync file", "link new.json", "fsync folder"]);
  });
});
