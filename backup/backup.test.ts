import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { Database } from "bun:sqlite";
import { followPromotion } from "../fitness/fitness-baseline.ts";
import { EMPTY_CURSOR, readGrowState, writeGrowState } from "../grow/grow-state.ts";
import { noticeNeeds } from "../grow/notice-needs.ts";
import { MemoryStore } from "../memory/memory-store.ts";
import { ensureOrgDir } from "../security/private-state.ts";
import { killedRestore } from "../testing/killed-restore.ts";
import { sealedTranscriptText } from "../testing/sealed-lines.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { BackupManifest, BUNDLE_ENTRY, MANIFEST_ENTRY } from "./backup-manifest.ts";
import { applyRetention, keptBackups, listBackups } from "./backup-retention.ts";
import { BadBackupError } from "./check-backup.ts";
import { RestoreError, restoreBackup } from "./restore-backup.ts";
import { beginRestoreRecord } from "./restore-record.ts";
import { takeBackup } from "./take-backup.ts";
import { readTar } from "./tar-reader.ts";
import { TarWriter } from "./tar-writer.ts";
import { verifyBackup } from "./verify-backup.ts";

const scratch = mkdtempSync(join(tmpdir(), "org-backup-test-"));
const repo = tempGitRepo("org-backup-repo-");
const session = "20261123-101500-abcdef";
/** A person's turn as the room writes it, sealed for `session`'s transcript at byte offset `from`. */
const sessionLine = (workspaceDir: string, text: string, from = 0) =>
  sealedTranscriptText(
    join(workspaceDir, ".org", "sessions"),
    session,
    [JSON.stringify({ type: "turn-start", turnId: "t1", text, mode: "group", addressed: [], time: "2026-11-23T10:15:00.000Z" })],
    from,
  );
let backupPath = "";

/** A copy of the backup at `from` with `extra` entries (each holding its own name) added before the manifest, which lists them. */
async function withEntries(from: string, to: string, extra: readonly string[]): Promise<string> {
  const writer = new TarWriter(to);
  let manifest: BackupManifest | undefined;
  for await (const entry of readTar(from)) {
    const parts: Buffer[] = [];
    for await (const chunk of entry.chunks()) parts.push(chunk);
    if (entry.name === MANIFEST_ENTRY) manifest = BackupManifest.parse(JSON.parse(Buffer.concat(parts).toString("utf8")));
    else if (entry.type === "file") await writer.addBytes(entry.name, Buffer.concat(parts));
  }
  if (!manifest) throw new Error(`${from} has no manifest`);
  for (const name of extra) manifest.entries.push(await writer.addBytes(name, `${name}\n`));
  await writer.addBytes(MANIFEST_ENTRY, JSON.stringify(manifest));
  await writer.finish();
  return to;
}

function refs(dir: string): string {
  return gitSync(dir, ["for-each-ref", "--format=%(refname) %(objectname)"]);
}

beforeAll(async () => {
  const main = gitSync(repo.dir, ["rev-parse", "main"]).trim();
  gitSync(repo.dir, ["branch", "cand/20261123T101500Z"]);
  gitSync(repo.dir, ["tag", "promote/20261123T101600Z", main]);
  gitSync(repo.dir, ["tag", "rollback/20261123T101700Z", main]);
  // A note on main, and a linked worktree (whose own HEAD is no ref of the repository's).
  gitSync(repo.dir, ["notes", "add", "-m", "reviewed: keep", main]);
  gitSync(repo.dir, ["worktree", "add", "--quiet", "--detach", join(scratch, "linked"), main]);
  const org = join(repo.dir, ".org");
  mkdirSync(join(org, "sessions"), { recursive: true, mode: 0o700 });
  mkdirSync(join(org, "changes"), { recursive: true, mode: 0o700 });
  mkdirSync(join(org, "worktrees", "left-out"), { recursive: true, mode: 0o700 });
  writeFileSync(join(org, "sessions", `${session}.jsonl`), sessionLine(repo.dir, "we need a tool that converts celsius to fahrenheit"));
  writeFileSync(join(org, "changes", "c1.json"), '{"change":"marker-c1"}\n');
  // An older org's MCP confirmations in the workspace: believed by nothing now, and left out of backups.
  writeFileSync(join(org, "mcp-trust.json"), '{"version":1,"servers":{}}\n');
  writeFileSync(join(org, "grow.lock"), '{"pid":1}\n');
  // The secret scan's cache, bound to this machine's inodes; and the Telegram channel's offsets, which are state.
  writeFileSync(join(org, "secret-scan.json"), "{}\n");
  mkdirSync(join(org, "telegram"), { recursive: true, mode: 0o700 });
  writeFileSync(join(org, "telegram", "state.json"), '{"offset":7}\n');
  writeFileSync(join(org, "worktrees", "left-out", "x"), "not backed up\n");
  followPromotion(repo.dir, { tag: "promote/20261126T000000Z", merge: main, passes: { echo: 3 } });
  const { store } = MemoryStore.open(repo.dir);
  store.close();
  // grow has read the transcript to its end: its cursor names the file's inode and length.
  const noticed = noticeNeeds({ workspaceDir: repo.dir, cursor: structuredClone(EMPTY_CURSOR), kindOf: () => undefined });
  expect(noticed.needs).toHaveLength(1);
  writeGrowState(repo.dir, { version: 1, cursor: noticed.cursor, proposals: [] });
  backupPath = (await takeBackup({ repoDir: repo.dir, workspaceDir: repo.dir, dir: join(scratch, "backups") })).path;
});

afterAll(() => {
  repo[Symbol.dispose]();
  rmSync(scratch, { recursive: true, force: true });
});

describe("org backup, verify and restore", () => {
  test("a backup holds the bundle, the state files (no caches, locks or worktrees), online database copies and its manifest, and verifies", async () => {
    const verified = await verifyBackup(backupPath);
    const names = verified.manifest.entries.map((entry) => entry.name);
    expect(names[0]).toBe(BUNDLE_ENTRY);
    expect(names).toEqual(
      expect.arrayContaining([
        `repo/.org/sessions/${session}.jsonl`,
        "repo/.org/changes/c1.json",
        "repo/.org/fitness/baseline.json",
        "repo/.org/fitness/gate.key",
        "repo/.org/grow/proposals.json",
        "repo/.org/memory/memory.sqlite",
      ]),
    );
    expect(names.some((name) => name.includes("worktrees") || name.endsWith(".lock") || name.endsWith("-wal"))).toBe(false);
    expect(names).not.toContain("repo/.org/mcp-trust.json");
    expect(names).not.toContain("repo/.org/secret-scan.json");
    expect(names).toContain("repo/.org/telegram/state.json");
    expect(verified.refs).toBe(5);
    expect(Object.keys(verified.manifest.repo.refs).sort()).toEqual([
      "refs/heads/cand/20261123T101500Z",
      "refs/heads/main",
      "refs/notes/commits",
      "refs/tags/promote/20261123T101600Z",
      "refs/tags/rollback/20261123T101700Z",
    ]);
    expect(statSync(backupPath).mode & 0o777).toBe(0o600);
  });

  test("restore rebuilds every ref and file in a new folder, main checked out clean, and grow reads on from its cursor", async () => {
    const to = join(scratch, "restored");
    const outcome = await restoreBackup({ file: backupPath, to });
    expect(outcome.checkoutDir).toBe(to);
    expect(refs(to)).toBe(refs(repo.dir));
    expect(gitSync(to, ["status", "--porcelain", "--untracked-files=all"])).toBe("");
    expect(gitSync(to, ["symbolic-ref", "HEAD"]).trim()).toBe("refs/heads/main");
    for (const file of ["changes/c1.json", "fitness/baseline.json", "fitness/gate.key"]) {
      expect(readFileSync(join(to, ".org", file), "utf8")).toBe(readFileSync(join(repo.dir, ".org", file), "utf8"));
    }
    // The transcript as it was, but its seals: sealed again for the workspace it is restored into (a seal names the
    // workspace), every line where it was; heard there, as in the workspace it was backed up from.
    const unsealed = (text: string) => text.replace(/,"seal":"[0-9a-f]{32}"\}/g, "}");
    const [restoredText, backedUp] = [join(to, ".org"), join(repo.dir, ".org")].map((dir) =>
      readFileSync(join(dir, "sessions", `${session}.jsonl`), "utf8"),
    );
    expect(unsealed(restoredText ?? "")).toBe(unsealed(backedUp ?? ""));
    expect(restoredText).not.toBe(backedUp);
    expect(restoredText?.length).toBe(backedUp?.length);
    expect(noticeNeeds({ workspaceDir: to, cursor: EMPTY_CURSOR, kindOf: () => undefined }).needs).toHaveLength(1);
    expect(existsSync(join(to, ".org", "grow.lock"))).toBe(false);
    expect(existsSync(join(to, ".org", "mcp-trust.json"))).toBe(false);
    const memory = new Database(join(to, ".org", "memory", "memory.sqlite"), { readonly: true });
    expect(memory.query("PRAGMA quick_check").get()).toEqual({ quick_check: "ok" });
    memory.close();
    // The cursor names the restored transcript's inode, so nothing is noticed twice; a new line is noticed.
    expect(outcome.cursorMarks).toBe(1);
    const state = readGrowState(to);
    expect(noticeNeeds({ workspaceDir: to, cursor: state.cursor, kindOf: () => undefined }).needs).toHaveLength(0);
    const restored = join(to, ".org", "sessions", `${session}.jsonl`);
    writeFileSync(restored, sessionLine(to, "is there a tool for parsing dates", statSync(restored).size), { flag: "a" });
    expect(noticeNeeds({ workspaceDir: to, cursor: state.cursor, kindOf: () => undefined }).needs).toHaveLength(1);
  });

  test("a folder that is not empty is refused before anything is written", async () => {
    const to = join(scratch, "occupied");
    mkdirSync(to);
    writeFileSync(join(to, "mine.txt"), "the user's\n");
    await expect(restoreBackup({ file: backupPath, to })).rejects.toThrow(RestoreError);
    expect(readdirSync(to)).toEqual(["mine.txt"]);
  });

  test("a restore killed with kill -9 half-way leaves what a rerun clears, saying so; a live restore's folder is refused", async () => {
    const to = join(scratch, "interrupted");
    const pid = await killedRestore(backupPath, to, scratch);
    // The state is written, the checkout not: its record (in .org/, written first) lists what it made.
    expect(readdirSync(to)).toEqual([".org"]);
    expect(readdirSync(join(to, ".org"))).toEqual(expect.arrayContaining(["restore-record.json", "restore.bundle", "sessions"]));
    const said: string[] = [];
    const outcome = await restoreBackup({ file: backupPath, to, onProgress: (line) => said.push(line) });
    expect(said).toContain(`cleared ${to}: a restore there (pid ${pid}) was interrupted and is gone; 1 entries it wrote removed`);
    expect(refs(outcome.checkoutDir)).toBe(refs(repo.dir));
    expect(gitSync(to, ["status", "--porcelain", "--untracked-files=all"])).toBe("");
    // A restore under way in a folder (its record's owner alive: this process) is never cleared.
    const busy = join(scratch, "busy");
    mkdirSync(busy);
    ensureOrgDir(busy);
    expect(beginRestoreRecord(busy, [".git"])).toBeDefined();
    await expect(restoreBackup({ file: backupPath, to: busy })).rejects.toThrow(`is being restored into by another org restore (pid ${process.pid})`);
    expect(readdirSync(busy)).toEqual([".org"]);
  }, 90_000);

  test("an altered entry and a cut-short file fail verify and restore, naming the entry, and leave --to as it was", async () => {
    const tar = gunzipSync(readFileSync(backupPath));
    const at = tar.indexOf("marker-c1");
    tar[at] = "M".charCodeAt(0);
    const altered = join(scratch, "altered.tar.gz");
    writeFileSync(altered, gzipSync(tar));
    await expect(verifyBackup(altered)).rejects.toThrow('the entry "repo/.org/changes/c1.json" does not match its SHA-256 in the manifest');
    const to = join(scratch, "from-altered");
    await expect(restoreBackup({ file: altered, to })).rejects.toThrow(BadBackupError);
    expect(existsSync(to)).toBe(false);
    const whole = readFileSync(backupPath);
    const cut = join(scratch, "cut.tar.gz");
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length * 0.6)));
    await expect(verifyBackup(cut)).rejects.toThrow(/cut short.*(inside|after) the entry "/);
    await expect(restoreBackup({ file: cut, to })).rejects.toThrow(/cut short/);
    expect(existsSync(to)).toBe(false);
  });

  test("a backup cut by a few bytes (its gzip trailer, CRC-32 and length) fails verify and restore, saying so", async () => {
    const whole = readFileSync(backupPath);
    for (const bytes of [1, 4, 8, 12, 40]) {
      const cut = join(scratch, `cut-${bytes}.tar.gz`);
      writeFileSync(cut, whole.subarray(0, whole.length - bytes));
      await expect(verifyBackup(cut), `cut by ${bytes}`).rejects.toThrow(/is cut short/);
      const to = join(scratch, `from-cut-${bytes}`);
      await expect(restoreBackup({ file: cut, to }), `cut by ${bytes}`).rejects.toThrow(/is cut short/);
      expect(existsSync(to)).toBe(false);
    }
  });

  test("hostile entry names (.., an absolute path, a name given twice) are refused and nothing lands outside --to", async () => {
    for (const [label, name, refusal] of [
      ["dot-dot", "repo/.org/../../escaped.txt", "is no path a backup holds"],
      ["absolute", "/tmp/escaped-by-org-backup.txt", "is no path a backup holds"],
      ["unknown root", "elsewhere/escaped.txt", "is no path a backup holds"],
      ["twice", BUNDLE_ENTRY, "is there twice"],
    ] as const) {
      const file = join(scratch, `hostile-${label.replace(" ", "-")}.tar.gz`);
      const writer = new TarWriter(file);
      const bundle = await writer.addBytes(BUNDLE_ENTRY, "not a bundle");
      const evil = await writer.addBytes(name, "owned\n");
      const manifest = {
        format: 1,
        takenAt: new Date().toISOString(),
        org: "test",
        repo: { path: "/x", main: "a".repeat(40), refs: {} },
        workspace: { path: "/x", same: true },
        entries: [bundle, evil],
        skipped: [],
      };
      await writer.addBytes(MANIFEST_ENTRY, JSON.stringify(manifest));
      await writer.finish();
      const parent = join(scratch, `parent-${label.replace(" ", "-")}`);
      mkdirSync(parent);
      await expect(restoreBackup({ file, to: join(parent, "to") }), label).rejects.toThrow(refusal);
      expect(readdirSync(parent), label).toEqual([]);
    }
    expect(existsSync("/tmp/escaped-by-org-backup.txt")).toBe(false);
  });

  test("verify refuses what restore could not write: one place twice (the same file under both prefixes), a file where a folder goes, the .gitignore a restore makes", async () => {
    for (const [label, extra, refusal] of [
      [
        "both prefixes",
        ["workspace/.org/grow/proposals.json"],
        'the entry "workspace/.org/grow/proposals.json" would be restored where "repo/.org/grow/proposals.json" is',
      ],
      [
        "file then folder",
        ["repo/.org/notes", "repo/.org/notes/inside.txt"],
        'needs .org/notes to be a folder, and the entry "repo/.org/notes" is a file there',
      ],
      ["made by restore", ["repo/.org/.gitignore"], 'the entry "repo/.org/.gitignore" is a file the restore makes itself'],
      ["nothing wrong", ["repo/.org/notes/inside.txt"], undefined],
    ] as const) {
      const file = await withEntries(backupPath, join(scratch, `clash-${label.replaceAll(" ", "-")}.tar.gz`), extra);
      const to = join(scratch, `from-clash-${label.replaceAll(" ", "-")}`);
      if (refusal === undefined) {
        await verifyBackup(file);
        await restoreBackup({ file, to });
        expect(readFileSync(join(to, ".org", "notes", "inside.txt"), "utf8"), label).toBe(`${extra[0]}\n`);
        continue;
      }
      await expect(verifyBackup(file), label).rejects.toThrow(refusal);
      await expect(restoreBackup({ file, to }), label).rejects.toThrow(refusal);
      expect(existsSync(to), label).toBe(false);
    }
  });

  test("backup.keep keeps the newest of each of the last days and weeks, and removes the rest", () => {
    const dir = join(scratch, "retention");
    mkdirSync(dir);
    const names = [
      "org-backup-20261123T101500Z.tar.gz",
      "org-backup-20261123T020000Z.tar.gz",
      "org-backup-20261122T020000Z.tar.gz",
      "org-backup-20261121T020000Z.tar.gz",
      "org-backup-20261110T020000Z.tar.gz",
      "org-backup-20261101T020000Z.tar.gz",
      "not-a-backup.tar.gz",
    ];
    const old = new Date("2026-11-01T00:00:00Z");
    for (const name of names) {
      writeFileSync(join(dir, name), "x");
      utimesSync(join(dir, name), old, old);
    }
    const now = Date.parse("2026-11-23T12:00:00Z");
    const kept = keptBackups(listBackups(dir), { daily: 2, weekly: 3 }, now);
    expect([...kept.keys()].sort()).toEqual([
      "org-backup-20261110T020000Z.tar.gz",
      "org-backup-20261122T020000Z.tar.gz",
      "org-backup-20261123T101500Z.tar.gz",
    ]);
    expect(kept.get("org-backup-20261123T101500Z.tar.gz")).toEqual(["daily 2026-11-23", "weekly 2026-W48", "newest"]);
    expect(kept.get("org-backup-20261122T020000Z.tar.gz")).toEqual(["daily 2026-11-22", "weekly 2026-W47"]);
    const dropped = applyRetention(dir, { daily: 2, weekly: 3 }, now).map((file) => file.name);
    expect(dropped.sort()).toEqual([
      "org-backup-20261101T020000Z.tar.gz",
      "org-backup-20261121T020000Z.tar.gz",
      "org-backup-20261123T020000Z.tar.gz",
    ]);
    expect(readdirSync(dir)).toContain("not-a-backup.tar.gz");
  });
});

describe("a backup taken while promotions run", () => {
  test("holds refs and a journal that agree: read under the promotion lock, the bundle checked against them", async () => {
    const busy = tempGitRepo("org-backup-busy-");
    const stop = join(scratch, "stop-promoting");
    const script = join(scratch, "promoter.ts");
    writeFileSync(
      script,
      `import { existsSync } from "node:fs";
import { PromotionJournal } from ${JSON.stringify(join(import.meta.dir, "..", "cycle", "promotion-journal.ts"))};
import { utcSecondStamp } from ${JSON.stringify(join(import.meta.dir, "..", "git", "ref-names.ts"))};
import { gitSync } from ${JSON.stringify(join(import.meta.dir, "..", "testing", "temp-git-repo.ts"))};
const [repo, stop] = process.argv.slice(2);
const base = Date.parse("2026-11-23T00:00:00Z");
for (let index = 0; !existsSync(stop) && index < 5000; index += 1) {
  const journal = new PromotionJournal(repo);
  try { journal.lock(); } catch { await Bun.sleep(1); continue; }
  try {
    const main = gitSync(repo, ["rev-parse", "main"]).trim();
    const next = gitSync(repo, ["commit-tree", "-p", main, "-m", "promotion " + index, main + "^{tree}"]).trim();
    const tag = "promote/" + utcSecondStamp(new Date(base + index * 1000));
    journal.write({ op: "promote", step: "planned", mainBefore: main, newMain: next, tag, restart: false, startedAt: new Date().toISOString() });
    await Bun.sleep(5);
    gitSync(repo, ["update-ref", "--stdin"], );
  } catch {} finally { journal.clear(); journal.unlock(); }
  await Bun.sleep(15);
}
`.replace(
        'gitSync(repo, ["update-ref", "--stdin"], );',
        'Bun.spawnSync(["git", "update-ref", "--stdin"], { cwd: repo, stdin: new TextEncoder().encode("start\\nupdate refs/heads/main " + next + " " + main + "\\ncreate refs/tags/" + tag + " " + next + "\\nprepare\\ncommit\\n") });',
      ),
    );
    const child = Bun.spawn([process.execPath, script, busy.dir, stop], { stdout: "ignore", stderr: "inherit" });
    const promoted: number[] = [];
    const tagCount = () => gitSync(busy.dir, ["for-each-ref", "refs/tags/promote/"]).split("\n").filter(Boolean).length;
    try {
      for (let round = 0; round < 3; round += 1) {
        // A promotion has happened since the last backup, and they go on while this one is taken.
        const before = promoted.at(-1) ?? 0;
        await waitUntil("a promotion since the last backup", () => tagCount() > before, 30_000);
        const { path, manifest } = await takeBackup({ repoDir: busy.dir, workspaceDir: busy.dir, dir: join(scratch, "busy-backups") });
        // No promotion is ever caught half-way: the journal is read with the refs, under the lock.
        expect(manifest.journal).toBeUndefined();
        const main = manifest.repo.refs["refs/heads/main"];
        const tags = Object.entries(manifest.repo.refs).filter(([ref]) => ref.startsWith("refs/tags/promote/"));
        // Each promotion's tag and main moved together: main is the newest tag's commit.
        if (tags.length > 0) expect(tags.sort().at(-1)?.[1]).toBe(main);
        promoted.push(tags.length);
        // The bundle holds exactly the refs the manifest names (verify checks it against git's own listing).
        expect((await verifyBackup(path)).refs).toBe(Object.keys(manifest.repo.refs).length);
      }
    } finally {
      writeFileSync(stop, "");
      await child.exited;
      busy[Symbol.dispose]();
    }
    expect(child.exitCode).toBe(0);
    // Promotions did run between the backups.
    expect(promoted.at(-1)).toBeGreaterThan(promoted[0] ?? 0);
  }, 60_000);
});

test("a restore's bundle and record are gone and the checkout's .org/ is ignored by git", () => {
  const to = join(scratch, "restored");
  expect(readdirSync(join(to, ".org")).filter((name) => name.startsWith("restore"))).toEqual([]);
  expect(lstatSync(join(to, ".org", ".gitignore")).isFile()).toBe(true);
});
