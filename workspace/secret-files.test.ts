import { afterAll, expect, test } from "bun:test";
import {
  chmodSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_SECRET_PATHS } from "../config/secret-paths.ts";
import { secretPathMatcher } from "./check-change-set.ts";
import { ensureOrgDir } from "../security/private-state.ts";
import { REMEMBERED_LISTINGS_FILE, walkStamp } from "./remembered-listings.ts";
import { SecretFileScan } from "./secret-files.ts";
import { TreeTooLargeError } from "./tree-snapshot.ts";

const root = mkdtempSync(join(tmpdir(), "org-secret-files-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

test("a secret path is the file itself or anything in a secret folder, in any folder and any case; ordinary names are not", () => {
  const isSecret = secretPathMatcher(DEFAULT_SECRET_PATHS);
  for (const path of [
    ".env",
    "app/.env.production",
    "a/b/.npmrc",
    "certs/server.pem",
    "tls.key/cert",
    ".ENV",
    "home/.ssh/id_ed25519",
    ".netrc",
    "x/.git-credentials",
  ]) {
    expect([path, isSecret(path) !== undefined]).toEqual([path, true]);
  }
  for (const path of ["environment.ts", "src/key.ts", "docs/pem.md", "keys/readme.md", "src/identity.ts"])
    expect([path, isSecret(path)]).toEqual([path, undefined]);
  expect(secretPathMatcher(["config/secrets/**"])("config/secrets/db.json")).toBe("config/secrets/**");
});

test("a scan finds secret files and folders (never inside .org or .git), covers what a secret-named link shows, and reads only changed folders again", async () => {
  const dir = join(root, "w");
  for (const folder of ["src/deep", "keys.key", ".org", ".git", "config"]) mkdirSync(join(dir, folder), { recursive: true });
  for (const file of [".env", "src/deep/.env.local", "keys.key/a", ".org/.env", ".git/.env", "src/app.ts", "config/prod.settings"])
    writeFileSync(join(dir, file), "x");
  symlinkSync("config/prod.settings", join(dir, ".env.production"));
  // A listing is trusted again only once its folder's ctime lies a margin (50 ms) in the past.
  await Bun.sleep(120);
  const scan = new SecretFileScan(dir, DEFAULT_SECRET_PATHS);
  const first = scan.scan();
  expect(first.files.sort()).toEqual([".env", "config/prod.settings", "src/deep/.env.local"]);
  expect(first.folders).toEqual(["keys.key"]);
  expect(first.foldersRead).toBe(4);
  const again = scan.scan();
  expect([again.files.sort(), again.folders, again.foldersRead]).toEqual([first.files, first.folders, 0]);
  // A new secret file changes its folder's ctime: that folder alone is read again.
  writeFileSync(join(dir, "src", "deep", "id_rsa"), "x");
  const changed = scan.scan();
  expect([changed.files.sort(), changed.foldersRead]).toEqual([[".env", "config/prod.settings", "src/deep/.env.local", "src/deep/id_rsa"], 1]);
});

test("a process's first scan stands on the listings the last one kept in .org/, never past a change or under another key", async () => {
  const dir = join(root, "kept");
  for (const folder of ["src/deep", "node_modules/a/b"]) mkdirSync(join(dir, folder), { recursive: true });
  for (const file of [".env", "src/deep/id_rsa", "src/app.ts", "node_modules/a/b/c.js"]) writeFileSync(join(dir, file), "x");
  ensureOrgDir(dir);
  await Bun.sleep(120);
  const first = new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan();
  expect([first.files.sort(), first.foldersRead]).toEqual([[".env", "src/deep/id_rsa"], 6]);
  // Another scan, as the next process makes it: every folder stands on the kept listing.
  const next = new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan();
  expect([next.files.sort(), next.foldersRead]).toEqual([first.files, 0]);
  // A secret file made since, deep down: its folder's ctime changed, so that folder is read again.
  writeFileSync(join(dir, "node_modules", "a", "b", ".npmrc"), "x");
  const changed = new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan();
  expect([changed.files.sort(), changed.foldersRead]).toEqual([[".env", "node_modules/a/b/.npmrc", "src/deep/id_rsa"], 1]);
  // Other secret paths are another key: nothing kept under the first is taken.
  const other = new SecretFileScan(dir, ["**/*.ts"]).scan();
  expect([other.files.sort(), other.foldersRead]).toEqual([["src/app.ts"], 6]);
  // A file out of shape is no listing at all.
  writeFileSync(join(dir, ".org", REMEMBERED_LISTINGS_FILE), '{"key":"x","listings":[["",1]]}');
  expect(new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan().foldersRead).toBe(6);
});

test("a kept walk is taken only while every folder it reached is unchanged: a secret made, renamed, linked or moved in is found", async () => {
  const dir = join(root, "walk");
  for (const folder of ["src", "node_modules/pkg/lib/deep/deeper", "config"]) mkdirSync(join(dir, folder), { recursive: true });
  for (const file of [".env", "src/app.ts", "src/token.txt", "node_modules/pkg/lib/deep/deeper/index.js", "config/settings.json"])
    writeFileSync(join(dir, file), "x");
  const outside = mkdtempSync(join(root, "outside-"));
  ensureOrgDir(dir);
  const session = new SecretFileScan(dir, DEFAULT_SECRET_PATHS);
  const found = (scan: { files: string[]; folders: string[] }) => [...scan.files, ...scan.folders.map((folder) => `${folder}/`)].sort();
  // Each change, made once the walk before it was kept and taken whole by the next process's scan and the session's.
  const changes: [string, () => void, string[]][] = [
    [
      "made deep in node_modules",
      () => writeFileSync(join(dir, "node_modules/pkg/lib/deep/deeper/.env"), "x"),
      ["node_modules/pkg/lib/deep/deeper/.env"],
    ],
    ["renamed to a secret name", () => renameSync(join(dir, "src/token.txt"), join(dir, "src/id_rsa")), ["src/id_rsa"]],
    ["hard-linked under a secret name", () => linkSync(join(dir, "src/app.ts"), join(dir, "node_modules/pkg/.npmrc")), ["node_modules/pkg/.npmrc"]],
    [
      "a secret-named link to a plain file",
      () => symlinkSync("../../config/settings.json", join(dir, "node_modules/pkg/.env.link")),
      ["config/settings.json"],
    ],
    [
      "a folder holding one moved in from outside",
      () => {
        mkdirSync(join(outside, "moved/inner"), { recursive: true });
        writeFileSync(join(outside, "moved/inner/server.pem"), "x");
        renameSync(join(outside, "moved"), join(dir, "node_modules/pkg/lib/moved"));
      },
      ["node_modules/pkg/lib/moved/inner/server.pem"],
    ],
  ];
  let expected = [".env"];
  for (const [what, change, secrets] of changes) {
    await Bun.sleep(120);
    session.scan();
    new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan();
    const kept = [new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan(), session.scan()];
    expect([what, kept.map((scan) => [found(scan), scan.keptWalk, scan.foldersRead])]).toEqual([
      what,
      [
        [expected, true, 0],
        [expected, true, 0],
      ],
    ]);
    change();
    expected = [...expected, ...secrets].sort();
    const next = [new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan(), session.scan()];
    expect([what, next.map((scan) => [found(scan), scan.keptWalk])]).toEqual([
      what,
      [
        [expected, false],
        [expected, false],
      ],
    ]);
  }
});

// A kept walk is checked with lstat's numbers: the stamp made from a listing's BigInt stat must be exactly those, or every
// check would find a change and walk again.
test("a kept walk's stamp, made from a folder's BigInt stat, is the device, inode and ctime lstat gives as numbers", () => {
  const folders = [root, tmpdir(), process.cwd(), ...readdirSync("/usr/lib").map((name) => `/usr/lib/${name}`)];
  const stamps = folders.map((folder) => {
    const stat = lstatSync(folder);
    return [folder, walkStamp(lstatSync(folder, { bigint: true })), [stat.dev, stat.ino, stat.ctimeMs]];
  });
  for (const [folder, made, given] of stamps) expect([folder, made]).toEqual([folder, given]);
});

test("a kept walk out of shape, or from another key, is not taken", async () => {
  const dir = join(root, "walk-shape");
  mkdirSync(join(dir, "a"), { recursive: true });
  writeFileSync(join(dir, "a", ".env"), "x");
  ensureOrgDir(dir);
  await Bun.sleep(120);
  new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan();
  const file = join(dir, ".org", REMEMBERED_LISTINGS_FILE);
  const [head = "", listings = ""] = readFileSync(file, "utf8").split("\n");
  const kept = JSON.parse(head);
  expect(kept.walk.found.files).toEqual(["a/.env"]);
  // A walk that names no folder, a path that leaves the workspace, a stamp that is no number, or short of one: no walk.
  for (const walk of [
    { ...kept.walk, folders: [], stamps: [] },
    { ...kept.walk, found: { ...kept.walk.found, files: ["../outside"] } },
    { ...kept.walk, stamps: kept.walk.stamps.map(String) },
    { ...kept.walk, stamps: kept.walk.stamps.slice(1) },
  ]) {
    writeFileSync(file, `${JSON.stringify({ ...kept, walk })}\n${listings}`);
    const scan = new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan();
    expect([scan.files, scan.keptWalk]).toEqual([["a/.env"], false]);
  }
  const other = new SecretFileScan(dir, ["**/*.md"]).scan();
  expect([other.files, other.keptWalk, other.foldersRead]).toEqual([[], false, 2]);
});

test.if(process.getuid?.() === 0)(
  "as root, a secret below a folder closed to the sandbox's uid is covered by covering that folder, the nearest one to the top",
  () => {
    const dir = join(root, "closed");
    for (const folder of ["a/b/c", "open", "shut/inner"]) mkdirSync(join(dir, folder), { recursive: true, mode: 0o755 });
    for (const file of ["a/b/c/.env", "a/b/x.key", "open/.env", "shut/inner/id_rsa", "shut/plain.txt"]) writeFileSync(join(dir, file), "x");
    chmodSync(join(dir, "a"), 0o700);
    chmodSync(join(dir, "a", "b"), 0o700);
    // Passable (x for others) but not listable: a cover can be placed in it.
    chmodSync(join(dir, "open"), 0o711);
    chmodSync(join(dir, "shut"), 0o750);
    const found = new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan();
    expect(found.files).toEqual(["open/.env"]);
    expect(found.folders.sort()).toEqual(["a", "shut"]);
  },
);

test("a scan ahead gives the kept walk's findings, checked after: a secret made meanwhile fails the check, and a scan finds it", async () => {
  const dir = join(root, "ahead");
  mkdirSync(join(dir, "src", "deep"), { recursive: true });
  writeFileSync(join(dir, ".env"), "x");
  ensureOrgDir(dir);
  await Bun.sleep(120);
  // No kept walk yet: a scan now, whose check always holds.
  const first = new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scanAhead();
  expect([first.entries.files, first.entries.keptWalk, first.unchanged()]).toEqual([[".env"], false, true]);
  const kept = new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scanAhead();
  expect([kept.entries.files, kept.entries.keptWalk, kept.entries.foldersRead, kept.unchanged()]).toEqual([[".env"], true, 0, true]);
  // A secret made after the findings were given, before the check: the check says no, and a scan finds it.
  const stale = new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scanAhead();
  writeFileSync(join(dir, "src", "deep", "id_rsa"), "x");
  expect([stale.entries.files, stale.unchanged()]).toEqual([[".env"], false]);
  expect(new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan().files.sort()).toEqual([".env", "src/deep/id_rsa"]);
});

test("a scan ahead's check says changed, not throws, when a folder on the way became a file (ENOTDIR)", async () => {
  const above = join(root, "swapped");
  const dir = join(above, "workspace");
  mkdirSync(join(dir, "src"), { recursive: true });
  writeFileSync(join(dir, ".env"), "x");
  ensureOrgDir(dir);
  await Bun.sleep(120);
  new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan();
  const ahead = new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scanAhead();
  expect(ahead.entries.keptWalk).toBe(true);
  // The folder above the workspace swapped for a file: every folder of the walk is now looked up through a file.
  renameSync(above, `${above}.moved`);
  writeFileSync(above, "not a folder");
  try {
    expect(ahead.unchanged()).toBe(false);
  } finally {
    rmSync(above);
    renameSync(`${above}.moved`, above);
  }
  expect(ahead.unchanged()).toBe(true);
});

test("a secret in a folder whose path is past PATH_MAX stops the scan: a command inside could reach it folder by folder", () => {
  const dir = join(root, "past-path-max");
  mkdirSync(dir);
  writeFileSync(join(dir, ".env"), "x");
  // node:fs cannot make a path this long by its name: a shell goes down one folder at a time.
  const down = 'p=$(printf "d%.0s" $(seq 250)); for i in $(seq 18); do mkdir "$p" && cd -P "$p" || exit 1; done; : > .env';
  const made = Bun.spawnSync(["/bin/sh", "-c", down], { cwd: dir });
  expect(made.exitCode).toBe(0);
  try {
    expect(() => new SecretFileScan(dir, DEFAULT_SECRET_PATHS).scan()).toThrow(TreeTooLargeError);
  } finally {
    Bun.spawnSync(["rm", "-rf", "--", dir]);
  }
});
