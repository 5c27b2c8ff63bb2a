// Issue 51, items 4, 12 and 13 and its "Also": what a restore must refuse. A project folder holding something named
// like a restore's staging folder, a record that did not come from a restore there, a bundle with a replace ref or a
// .org in main's tree, a backup that holds more than there is room for (or grows between the check and the write),
// and a folder entry that climbs out: each refused with nothing written outside --to, and nothing of --to removed
// that the restore did not make.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { ensureOrgDir, orgDirIdentity, writePrivateFile } from "../security/private-state.ts";
import { killedRestore } from "../testing/killed-restore.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { checkChangeSet } from "../workspace/check-change-set.ts";
import { BackupManifest, BUNDLE_ENTRY, MANIFEST_ENTRY } from "./backup-manifest.ts";
import { BadBackupError, NoRoomError } from "./check-backup.ts";
import { ImplausibleBackupError } from "./expansion-limit.ts";
import { extractEntries } from "./extract-entries.ts";
import { restoreCommand } from "../cli/backup/restore-command.ts";
import { RestoreError, restoreBackup } from "./restore-backup.ts";
import { RESTORE_RECORD } from "./restore-record.ts";
import { takeBackup } from "./take-backup.ts";
import { readTar } from "./tar-reader.ts";
import { entryHeader } from "./tar-header.ts";
import { TarWriter } from "./tar-writer.ts";
import { verifyBackup } from "./verify-backup.ts";

const scratch = mkdtempSync(join(tmpdir(), "org-restore-hostile-"));
const repo = tempGitRepo("org-restore-hostile-repo-");
let backupPath = "";

type Entry = { name: string; type: "file" | "directory"; bytes: Buffer };

/** A backup's entries (the manifest aside) and its manifest. */
async function readBackup(path: string): Promise<{ entries: Entry[]; manifest: BackupManifest }> {
  const entries: Entry[] = [];
  let manifest: BackupManifest | undefined;
  for await (const entry of readTar(path)) {
    const parts: Buffer[] = [];
    for await (const chunk of entry.chunks()) parts.push(chunk);
    if (entry.name === MANIFEST_ENTRY) manifest = BackupManifest.parse(JSON.parse(Buffer.concat(parts).toString("utf8")));
    else entries.push({ name: entry.name, type: entry.type, bytes: Buffer.concat(parts) });
  }
  if (!manifest) throw new Error(`${path} has no manifest`);
  return { entries, manifest };
}

/** Writes entries and a manifest listing exactly the files written (so every size and hash checks out). */
async function writeBackup(path: string, entries: readonly Entry[], manifest: BackupManifest): Promise<string> {
  const writer = new TarWriter(path);
  const listed = [];
  for (const entry of entries) {
    if (entry.type === "directory") await writer.addDirectory(entry.name);
    else listed.push(await writer.addBytes(entry.name, entry.bytes));
  }
  await writer.addBytes(MANIFEST_ENTRY, JSON.stringify({ ...manifest, entries: listed }));
  await writer.finish();
  return path;
}

/** The backup with its bundle replaced by one of every ref of `repoDir`, its manifest naming them. */
async function withBundleOf(repoDir: string, path: string): Promise<string> {
  const bundle = join(scratch, `${relative(scratch, path).replaceAll("/", "-")}.bundle`);
  gitSync(repoDir, ["bundle", "create", "--quiet", bundle, "--glob=refs/*", "HEAD"]);
  const refs = Object.fromEntries(
    gitSync(repoDir, ["for-each-ref", "--format=%(refname) %(objectname)"])
      .trim()
      .split("\n")
      .map((line) => line.split(" ") as [string, string]),
  );
  const { entries, manifest } = await readBackup(backupPath);
  const swapped = entries.map((entry) => (entry.name === BUNDLE_ENTRY ? { ...entry, bytes: readFileSync(bundle) } : entry));
  return writeBackup(path, swapped, { ...manifest, repo: { ...manifest.repo, main: refs["refs/heads/main"] ?? "", refs } });
}

/** Every path under `dir` with its content (folders as "/"), to see that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        out[relative(dir, path)] = "/";
        walk(path);
      } else out[relative(dir, path)] = entry.isSymbolicLink() ? "link" : readFileSync(path, "utf8");
    }
  };
  walk(dir);
  return out;
}

/** A user's project: its files, its .org/ state, and what the agent added through the write view. */
function project(name: string, extra: Record<string, string> = {}): string {
  const dir = join(scratch, name);
  for (const [path, text] of Object.entries({ "README.md": "# my project\n", "src/app.ts": "export const app = 1;\n", ...extra })) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  ensureOrgDir(dir);
  writePrivateFile(join(dir, ".org", "notes.json"), '{"mine":true}\n');
  return dir;
}

beforeAll(async () => {
  mkdirSync(join(repo.dir, ".org", "changes"), { recursive: true, mode: 0o700 });
  writeFileSync(join(repo.dir, ".org", "changes", "c1.json"), '{"change":"c1"}\n');
  backupPath = (await takeBackup({ repoDir: repo.dir, workspaceDir: repo.dir, dir: join(scratch, "backups") })).path;
});

afterAll(() => {
  repo[Symbol.dispose]();
  rmSync(scratch, { recursive: true, force: true });
});

describe("item 4: a restore clears only what a restore there made, as its own record lists it", () => {
  test("a folder named like a staging folder in a project is no interrupted restore: the restore is refused and the project is whole", async () => {
    // The agent's one-file change: a folder named as a restore names its staging folder, for a pid long gone.
    const dir = project("staging-lookalike", { "org-restore-999999-0-abcdef/README": "nothing to see\n" });
    const before = snapshot(dir);
    const refusal = restoreBackup({ file: backupPath, to: dir });
    await expect(refusal).rejects.toThrow(RestoreError);
    await expect(refusal).rejects.toThrow(/is not empty \(it holds .*\); a restore writes only into a new or empty folder/);
    await expect(refusal).rejects.toThrow("a folder named like a restore's staging folder is no sign of one");
    expect(snapshot(dir)).toEqual(before);
  });

  test("a record that did not come from a restore into this very folder clears nothing: copied from elsewhere, or not 0600", async () => {
    const dir = project("forged-record", { "org-restore-999999-0-abcdef/README": "x\n" });
    const elsewhere = join(scratch, "elsewhere");
    mkdirSync(elsewhere);
    ensureOrgDir(elsewhere);
    const forged = (stateFolder: string) =>
      `${JSON.stringify({ version: 1, pid: 999999, start: "1", folder: dir, stateFolder, made: readdirSync(dir) })}\n`;
    // Made for another folder (a clone or an archive carries the record, never its .org folder's inode and birth time).
    writePrivateFile(join(dir, ".org", RESTORE_RECORD), forged(orgDirIdentity(elsewhere)));
    const before = snapshot(dir);
    await expect(restoreBackup({ file: backupPath, to: dir })).rejects.toThrow(/is not empty/);
    expect(snapshot(dir)).toEqual(before);
    // Naming this folder, but not a private file of this user's (git and archives make 0644 files).
    writeFileSync(join(dir, ".org", RESTORE_RECORD), forged(orgDirIdentity(dir)));
    chmodSync(join(dir, ".org", RESTORE_RECORD), 0o644);
    await expect(restoreBackup({ file: backupPath, to: dir })).rejects.toThrow(/is not empty/);
    expect(existsSync(join(dir, "src", "app.ts")) && existsSync(join(dir, "README.md"))).toBe(true);
    // And the agents cannot write one: .org/ is a protected path of the write view.
    const change = checkChangeSet({
      changes: [
        { path: `.org/${RESTORE_RECORD}`, status: "added", after: { type: "file", mode: 0o600, size: 2, content: new Uint8Array([123, 125]) } },
      ],
    });
    expect(change.ok).toBe(false);
  });

  test("a restore that was killed is cleared by a rerun, but not when anything it did not make was added meanwhile", async () => {
    const to = join(scratch, "killed");
    const pid = await killedRestore(backupPath, to, scratch);
    // Someone adds a file before the rerun: the restore takes nothing of it, nor of what it made itself.
    writeFileSync(join(to, "notes.md"), "added after the restore was killed\n");
    const before = snapshot(to);
    await expect(restoreBackup({ file: backupPath, to })).rejects.toThrow(
      `holds what a restore that was interrupted (pid ${pid}) made, and "notes.md", which it did not make; nothing was removed`,
    );
    expect(snapshot(to)).toEqual(before);
    rmSync(join(to, "notes.md"));
    const said: string[] = [];
    await restoreBackup({ file: backupPath, to, onProgress: (line) => said.push(line) });
    expect(said).toContain(`cleared ${to}: a restore there (pid ${pid}) was interrupted and is gone; 1 entries it wrote removed`);
  }, 90_000);
});

describe("item 12: hostile git bundles", () => {
  test("a refs/replace/ ref does not make restore check out another commit than main names; it is left out, and said", async () => {
    const source = tempGitRepo("org-restore-replace-");
    try {
      writeFileSync(join(source.dir, "README.md"), "the real main\n");
      gitSync(source.dir, ["add", "README.md"]);
      gitSync(source.dir, ["commit", "--quiet", "-m", "real"]);
      const real = gitSync(source.dir, ["rev-parse", "HEAD"]).trim();
      // A commit no branch names, whose tree holds the attacker's file, put in main's place by a replace ref.
      const evilBlob = gitSync(source.dir, ["hash-object", "-w", "--stdin"], "the attacker's main\n").trim();
      const evilTree = gitSync(source.dir, ["mktree"], `100644 blob ${evilBlob}\tREADME.md\n`).trim();
      const evil = gitSync(source.dir, ["commit-tree", evilTree, "-m", "evil"]).trim();
      gitSync(source.dir, ["replace", real, evil]);
      const file = await withBundleOf(source.dir, join(scratch, "replace.tar.gz"));
      await verifyBackup(file);
      const to = join(scratch, "from-replace");
      const said: string[] = [];
      const outcome = await restoreBackup({ file, to, onProgress: (line) => said.push(line) });
      expect(readFileSync(join(to, "README.md"), "utf8")).toBe("the real main\n");
      expect(outcome.main).toBe(real);
      expect(gitSync(to, ["for-each-ref", "refs/replace/"])).toBe("");
      // The user's own git, run in the restored checkout, sees main as it is too.
      expect(gitSync(to, ["log", "--format=%s", "-1"]).trim()).toBe("real");
      expect(outcome.leftOut).toEqual([`refs/replace/${real}`]);
      expect(said.join("\n")).toContain("left out 1 replace ref(s) of the bundle");
    } finally {
      source[Symbol.dispose]();
    }
  });

  for (const [label, make] of [
    ["a link", (dir: string) => symlinkSync("../outside-of-to", join(dir, ".org"))],
    ["a folder", (dir: string) => mkdirSync(join(dir, ".org")) ?? writeFileSync(join(dir, ".org", "x.json"), "{}\n")],
  ] as const) {
    test(`.org as ${label} in main's tree is refused by verify and restore before checkout; the restored state and what lies outside --to are untouched`, async () => {
      const source = tempGitRepo(`org-restore-dotorg-${label.replace(" ", "-")}-`);
      try {
        make(source.dir);
        gitSync(source.dir, ["add", "--force", ".org"]);
        gitSync(source.dir, ["commit", "--quiet", "-m", "tracks .org"]);
        const file = await withBundleOf(source.dir, join(scratch, `dotorg-${label.replace(" ", "-")}.tar.gz`));
        const refusal = `main's tree in the git bundle holds ".org" (${label})`;
        await expect(verifyBackup(file)).rejects.toThrow(refusal);
        const parent = join(scratch, `parent-dotorg-${label.replace(" ", "-")}`);
        mkdirSync(join(parent, "outside-of-to"), { recursive: true });
        writeFileSync(join(parent, "outside-of-to", "keep.txt"), "kept\n");
        const before = snapshot(parent);
        await expect(restoreBackup({ file, to: join(parent, "to") })).rejects.toThrow(BadBackupError);
        await expect(restoreBackup({ file, to: join(parent, "to") })).rejects.toThrow(refusal);
        expect(snapshot(parent)).toEqual(before);
      } finally {
        source[Symbol.dispose]();
      }
    });
  }
});

describe("item 13: what a restore writes is bounded", () => {
  test("an entry that declares more than the disk holds is stopped at its header: nothing is read on, nothing written, by restore or verify", async () => {
    // 1 TiB of zeros declared for the bundle, a MiB of it present: a gzip bomb's header, without the bomb.
    const file = join(scratch, "bomb.tar.gz");
    writeFileSync(
      file,
      gzipSync(Buffer.concat([entryHeader({ name: BUNDLE_ENTRY, type: "file", size: 2 ** 40, mode: 0o600, mtime: 0 }), Buffer.alloc(1 << 20)])),
    );
    const parent = join(scratch, "parent-bomb");
    mkdirSync(parent);
    const refusal = restoreBackup({ file, to: join(parent, "to") });
    await expect(refusal).rejects.toThrow(NoRoomError);
    await expect(refusal).rejects.toThrow(/holds 1024 GiB or more, more than the .* free in .*: free some space, or restore elsewhere/);
    expect(readdirSync(parent)).toEqual([]);
    // verify refuses it for its ratio first (1 TiB from a file of a KiB); past that, for the room.
    await expect(verifyBackup(file)).rejects.toThrow(ImplausibleBackupError);
    const verifying = verifyBackup(file, undefined, { allowLarge: true });
    await expect(verifying).rejects.toThrow(NoRoomError);
    await expect(verifying).rejects.toThrow(/the entry "git\/refs.bundle" holds 1024 GiB, more than the .* free in /);
  });

  test("a backup swapped for a larger one between the check and the write writes no more than the manifest it checked said", async () => {
    const { entries, manifest } = await readBackup(backupPath);
    // The same backup, one state file grown to 8 MiB (its own manifest agrees: it checks out on its own).
    const grown = entries.map((entry) =>
      entry.name.startsWith("repo/.org/") && entry.type === "file" ? { ...entry, bytes: Buffer.alloc(8 << 20) } : entry,
    );
    const larger = await writeBackup(join(scratch, "larger.tar.gz"), grown, manifest);
    const file = join(scratch, "swapped.tar.gz");
    writeFileSync(file, readFileSync(backupPath));
    const parent = join(scratch, "parent-swapped");
    mkdirSync(parent);
    const swap = (line: string) => {
      if (line.startsWith("writing ")) writeFileSync(file, readFileSync(larger));
    };
    await expect(restoreBackup({ file, to: join(parent, "to"), onProgress: swap })).rejects.toThrow(
      /the entry "repo\/\.org\/[^"]+" holds 8388608 bytes, the manifest says \d+: the file changed since it was checked/,
    );
    expect(readdirSync(parent)).toEqual([]);
  });

  test("zeros without end after the end-of-archive blocks are stopped as they are read", async () => {
    const file = join(scratch, "trailing.tar.gz");
    const { gunzipSync } = await import("node:zlib");
    writeFileSync(file, gzipSync(Buffer.concat([gunzipSync(readFileSync(backupPath)), Buffer.alloc(4 << 20)])));
    await expect(verifyBackup(file)).rejects.toThrow(/goes on for more than 1048576 bytes after its end-of-archive blocks/);
    await expect(restoreBackup({ file, to: join(scratch, "from-trailing") })).rejects.toThrow(/goes on for more than/);
    expect(existsSync(join(scratch, "from-trailing"))).toBe(false);
  });

  test("a 1 MiB backup declaring a 1 GiB entry is refused for its ratio, unread, by restore, verify and the supervisor's extraction", async () => {
    // Issue 74, item 6: within the free space, but 1 024 times the file's size; random bytes, so the file is as large as
    // what it really holds.
    const file = join(scratch, "ratio-bomb.tar.gz");
    writeFileSync(
      file,
      gzipSync(Buffer.concat([entryHeader({ name: BUNDLE_ENTRY, type: "file", size: 2 ** 30, mode: 0o600, mtime: 0 }), randomBytes(1 << 20)]), {
        level: 0,
      }),
    );
    const parent = join(scratch, "parent-ratio");
    mkdirSync(parent);
    const refusal = restoreBackup({ file, to: join(parent, "to") });
    await expect(refusal).rejects.toThrow(ImplausibleBackupError);
    await expect(refusal).rejects.toThrow(/is 1 MiB and its entries declare 1 GiB or more, 1023× its size; the backups org takes hold at most 200× /);
    await expect(refusal).rejects.toThrow(/Nothing was written\. .*restore it with 'org restore --allow-large'/);
    expect(readdirSync(parent)).toEqual([]);
    await expect(restoreCommand.run([file, "--to", join(parent, "to")], new AbortController().signal)).rejects.toThrow(/org restore --allow-large/);
    expect(readdirSync(parent)).toEqual([]);
    await expect(verifyBackup(file)).rejects.toThrow(/verify it with 'org backup verify --allow-large'/);
    await expect(extractEntries(file, () => join(parent, "never"))).rejects.toThrow(ImplausibleBackupError);
    expect(readdirSync(parent)).toEqual([]);
    // --allow-large lifts the ratio only: the entry is then read, found cut short (or past the free space), and nothing stays.
    const allowed = await restoreBackup({ file, to: join(parent, "to"), allowLarge: true }).catch((error: unknown) => error);
    expect(allowed).not.toBeInstanceOf(ImplausibleBackupError);
    expect(allowed instanceof BadBackupError || allowed instanceof NoRoomError).toBe(true);
    expect(readdirSync(parent)).toEqual([]);
  });

  test("a real backup of a 17 MiB state file of zeros: refused without --allow-large, restored whole with it; others need none", async () => {
    using source = tempGitRepo("org-restore-ratio-");
    mkdirSync(join(source.dir, ".org", "changes"), { recursive: true, mode: 0o700 });
    // Zeros (a file made at its full size, never filled) gzip about 1 000 times smaller, more than any backup of real
    // state (expansion-limit.ts); just past the 16 MiB any backup may hold.
    const zeros = Buffer.alloc(17 << 20);
    writeFileSync(join(source.dir, ".org", "changes", "preallocated.bin"), zeros);
    const { path } = await takeBackup({ repoDir: source.dir, workspaceDir: source.dir, dir: join(scratch, "ratio-backups") });
    await expect(restoreBackup({ file: path, to: join(scratch, "ratio-refused") })).rejects.toThrow(ImplausibleBackupError);
    expect(existsSync(join(scratch, "ratio-refused"))).toBe(false);
    const restored = await restoreBackup({ file: path, to: join(scratch, "ratio-allowed"), allowLarge: true });
    expect(readFileSync(join(restored.workspaceDir, ".org", "changes", "preallocated.bin")).equals(zeros)).toBe(true);
    expect((await verifyBackup(path, undefined, { allowLarge: true })).entries).toBeGreaterThan(1);
    // The backups this file's other tests take need no flag.
    expect((await verifyBackup(backupPath)).entries).toBeGreaterThan(1);
    // Bytes after the gzip stream (which zlib alone skips) lift no bound: zeros just past what makes the file 1/200 of
    // what it holds are refused without --allow-large, and so is a second gzip member with it; nothing is written.
    const whole = readFileSync(path);
    const padding = Buffer.alloc(Math.ceil(zeros.length / 200) + 4096 - whole.length);
    const secondMember = gzipSync(Buffer.alloc(1024));
    for (const [label, tail, allowLarge] of [
      ["zeros", padding, false],
      ["a gzip member", secondMember, true],
    ] as const) {
      const file = join(scratch, `ratio-${label.replaceAll(" ", "-")}.tar.gz`);
      writeFileSync(file, Buffer.concat([whole, tail]));
      const refusal = `has ${tail.length} bytes after the end of its gzip stream; org writes one gzip stream and nothing after it`;
      await expect(verifyBackup(file, undefined, { allowLarge }), label).rejects.toThrow(refusal);
      const to = join(scratch, `ratio-${label.replaceAll(" ", "-")}-restored`);
      await expect(restoreBackup({ file, to, allowLarge }), label).rejects.toThrow(refusal);
      expect(existsSync(to)).toBe(false);
    }
  });

  test("a restore says how much it writes before it writes it", async () => {
    const said: string[] = [];
    await restoreBackup({ file: backupPath, to: join(scratch, "sized"), onProgress: (line) => said.push(line) });
    expect(said.find((line) => line.startsWith("writing "))).toMatch(
      /^writing \d+ entries \(\d+ (bytes|KiB|MiB) with the checkout's history\) into /,
    );
  });
});

describe("also: a folder entry is checked as a file entry is", () => {
  for (const name of ["repo/.org/../../x/", "/tmp/org-abs-folder/", "elsewhere/"]) {
    test(`the folder entry ${JSON.stringify(name)} is refused by verify and restore, and nothing is made`, async () => {
      const { entries, manifest } = await readBackup(backupPath);
      const file = await writeBackup(
        join(scratch, `folder-${name.replace(/\W+/g, "-")}.tar.gz`),
        [{ name, type: "directory", bytes: Buffer.alloc(0) }, ...entries],
        manifest,
      );
      const refusal = `the folder entry ${JSON.stringify(name)} is no path a backup holds`;
      await expect(verifyBackup(file)).rejects.toThrow(refusal);
      const parent = join(scratch, `parent-folder-${name.replace(/\W+/g, "-")}`);
      mkdirSync(parent);
      await expect(restoreBackup({ file, to: join(parent, "to") })).rejects.toThrow(refusal);
      expect(readdirSync(parent)).toEqual([]);
      expect(existsSync(join(scratch, "x")) || existsSync("/tmp/org-abs-folder")).toBe(false);
    });
  }

  test("the folders on the way to a backup's files pass", async () => {
    const { entries, manifest } = await readBackup(backupPath);
    const folders = ["repo/", "repo/.org/", "repo/.org/sessions/", "git/"].map((name) => ({
      name,
      type: "directory" as const,
      bytes: Buffer.alloc(0),
    }));
    const file = await writeBackup(join(scratch, "with-folders.tar.gz"), [...folders, ...entries], manifest);
    await verifyBackup(file);
    await restoreBackup({ file, to: join(scratch, "from-folders") });
  });
});
