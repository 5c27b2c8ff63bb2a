import { expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RepoGit } from "../git/repo-git.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { gateTestEnvironment } from "../config/environment.ts";
import { READERS_DIR, SHIPPED_TRACE_FILE, shippedTraceText, type TraceVerdicts, traceContext, verdictsRecord } from "./folder-readers.ts";
import { workingStrace } from "./folder-trace.ts";
import { reachableTests, reachableTestsAt } from "./reachable-tests.ts";
import { judgeReachableTests, runReachableTests } from "./reachable-tests-stage.ts";
import { treeStatesAt } from "./run-traced.ts";
import { dealByDuration, recordedDurations } from "./test-durations.ts";
import { errorWithoutFailure } from "./test-run-output.ts";
import { traceReachableTests } from "./trace-reachable-tests.ts";

test("the gate's bun test takes no .env and no bunfig.toml from the candidate's worktree", async () => {
  const worktree = mkdtempSync(join(tmpdir(), "org-reachable-"));
  const marker = join(worktree, "preloaded");
  try {
    writeFileSync(join(worktree, "loader.ts"), 'export const GENERATED_DIR = "tools/generated";\n');
    writeFileSync(
      join(worktree, "loader.test.ts"),
      'import { expect, test } from "bun:test";\nimport { GENERATED_DIR } from "./loader.ts";\ntest("no planted env", () => {\n  expect(process.env.ORG_PLANTED).toBeUndefined();\n  expect(GENERATED_DIR).toBe("tools/generated");\n});\n',
    );
    writeFileSync(join(worktree, ".env"), "ORG_PLANTED=1\n");
    writeFileSync(join(worktree, "preload.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`);
    writeFileSync(join(worktree, "bunfig.toml"), 'preload = ["./preload.ts"]\n[test]\npreload = ["./preload.ts"]\n');
    const check = await runReachableTests(worktree, process.execPath, 60_000);
    expect(check.figures).toMatchObject({ ran: ["loader.test.ts"], passed: 1, failed: 0 });
    expect(check.ok).toBe(true);
    expect(existsSync(marker)).toBe(false);
  } finally {
    rmSync(worktree, { recursive: true, force: true });
  }
});

test("the gate's bun test gets none of the gate's model server, keys or settings: only config's gateTestEnvironment", async () => {
  const worktree = mkdtempSync(join(tmpdir(), "org-reachable-"));
  try {
    // A test of the worktree that fails on a variable of the gate's shell.
    const asserts = ["expect(process.env.ORG_GATE_SHELL_ONLY).toBeUndefined();", "expect(process.env.PATH).toBeTruthy();"];
    writeFileSync(join(worktree, "loader.ts"), 'export const GENERATED_DIR = "tools/generated";\n');
    writeFileSync(
      join(worktree, "loader.test.ts"),
      `import { expect, test } from "bun:test";\nimport "./loader.ts";\ntest("only the passed variables", () => {\n  ${asserts.join("\n  ")}\n});\n`,
    );
    // The gate in a process of its own, started from a shell with a variable no test should see (as OLLAMA_BASE, an
    // API key or ORG_PROFILE would be).
    const gate = `const { runReachableTests } = await import(${JSON.stringify(join(import.meta.dir, "reachable-tests-stage.ts"))});\nconst check = await runReachableTests(${JSON.stringify(worktree)}, process.execPath, 60_000);\nconsole.log(JSON.stringify({ ok: check.ok, reason: check.reason }));`;
    const child = Bun.spawn([process.execPath, "-e", gate], { env: { ...process.env, ORG_GATE_SHELL_ONLY: "1" }, stdout: "pipe", stderr: "pipe" });
    const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    expect({ out: out.trim(), err: child.exitCode === 0 ? "" : err }).toEqual({
      out: JSON.stringify({ ok: true, reason: "1 passed in 1 file(s) that load generated tools" }),
      err: "",
    });
  } finally {
    rmSync(worktree, { recursive: true, force: true });
  }
});

test("bun test exiting non-zero with no failing test: the reason and report name the file and show the error's first lines", async () => {
  const worktree = mkdtempSync(join(tmpdir(), "org-reachable-"));
  try {
    writeFileSync(join(worktree, "loader.ts"), 'export const GENERATED_DIR = "tools/generated";\n');
    writeFileSync(
      join(worktree, "loader.test.ts"),
      'import { expect, test } from "bun:test";\nimport { GENERATED_DIR } from "./loader.ts";\ntest("names the folder", () => {\n  expect(GENERATED_DIR).toBe("tools/generated");\n});\n',
    );
    // As a probe that spawns what this user may not run does: it throws between tests, and no test fails.
    writeFileSync(
      join(worktree, "probe.test.ts"),
      'import { describe, expect, test } from "bun:test";\nimport { GENERATED_DIR } from "./loader.ts";\ndescribe("probe", () => {\n  test("runs", () => expect(GENERATED_DIR).toBeTruthy());\n  const works = Bun.spawnSync(["/nonexistent-org-dir/bun"]).exitCode === 0;\n  test.if(works)("never", () => {});\n});\n',
    );
    const check = await runReachableTests(worktree, process.execPath, 60_000);
    expect(check.ok).toBe(false);
    expect(check.figures).toMatchObject({ ran: ["loader.test.ts", "probe.test.ts"], failed: 0, errorFile: "probe.test.ts" });
    expect(check.reason).toStartWith("bun test exited 1 though no test failed: an error in probe.test.ts: error: ENOENT");
    expect(check.reason).toContain("posix_spawn '/nonexistent-org-dir/bun'");
    expect((check.figures?.errorOutput as string[])[0]).toContain("ENOENT: no such file or directory, posix_spawn");
    expect((check.figures?.errorOutput as string[]).join("\n")).toContain("Bun.spawnSync");

    // Both files in one bun test: the file is the one whose output the error follows.
    const files = ["loader.test.ts", "probe.test.ts"];
    const both = Bun.spawnSync([process.execPath, "test", ...files.map((file) => `./${file}`)], { cwd: worktree, stdout: "pipe", stderr: "pipe" });
    const found = errorWithoutFailure({ files, code: both.exitCode, text: `${both.stdout}\n${both.stderr}` });
    expect(found.file).toBe("probe.test.ts");
    expect(found.lines[0]).toStartWith("error: ENOENT");
  } finally {
    rmSync(worktree, { recursive: true, force: true });
  }
});

test("a file that fails beside others runs once more alone, and that run decides; one that fails alone too still fails the stage", async () => {
  const worktree = mkdtempSync(join(tmpdir(), "org-reachable-"));
  try {
    writeFileSync(join(worktree, "loader.ts"), 'export const GENERATED_DIR = "tools/generated";\n');
    const plain =
      'import { expect, test } from "bun:test";\nimport { GENERATED_DIR } from "./loader.ts";\ntest("names the folder", () => expect(GENERATED_DIR).toBe("tools/generated"));\n(globalThis as { orgRan?: boolean }).orgRan = true;\n';
    // Nine files over at most four processes: every process has two or more, and this one (last of its process by
    // name) fails unless alone.
    for (const name of ["a", "b", "c", "d", "e", "f", "g", "h"]) writeFileSync(join(worktree, `${name}.test.ts`), plain);
    writeFileSync(
      join(worktree, "z-crowded.test.ts"),
      'import { expect, test } from "bun:test";\nimport { GENERATED_DIR } from "./loader.ts";\ntest("alone", () => {\n  expect(GENERATED_DIR).toBeTruthy();\n  expect((globalThis as { orgRan?: boolean }).orgRan).toBeUndefined();\n});\n',
    );
    const check = await runReachableTests(worktree, process.execPath, 120_000);
    expect(check.reason).toContain("passed in 9 file(s)");
    expect(check).toMatchObject({ ok: true, figures: { passedAlone: ["z-crowded.test.ts"], failed: 0 } });

    writeFileSync(join(worktree, "z-crowded.test.ts"), plain.replace('toBe("tools/generated")', 'toBe("elsewhere")'));
    const broken = await runReachableTests(worktree, process.execPath, 120_000);
    expect(broken.ok).toBe(false);
    expect(broken.reason).toContain("1 failed: names the folder");
    expect(broken.figures).not.toHaveProperty("passedAlone");
  } finally {
    rmSync(worktree, { recursive: true, force: true });
  }
}, 120_000);

test("the tests stage deals files by their recorded durations, so no process ends long after the others", () => {
  const durations = new Map([
    ["a.test.ts", 9000],
    ["b.test.ts", 8000],
    ["c.test.ts", 5000],
    ["d.test.ts", 4000],
    ["e.test.ts", 1000],
    ["f.test.ts", 1000],
  ]);
  const files = [...durations.keys()];
  const total = (share: string[]) => share.reduce((sum, file) => sum + (durations.get(file) ?? 0), 0);
  // Dealt in turn by name the heaviest share is a + d = 13 s; by duration none passes 10 s.
  const shares = dealByDuration(files, durations, 3);
  expect(shares.map(total).sort((x, y) => y - x)).toEqual([10000, 9000, 9000]);
  expect(shares.flat().sort()).toEqual(files);
  // A file the table lacks weighs the median of those it has (200 here): with 300, 200, 200, 100 the two shares weigh 400 each.
  expect(
    dealByDuration(
      ["x.test.ts", "y.test.ts", "z.test.ts", "new.test.ts"],
      new Map([
        ["x.test.ts", 100],
        ["y.test.ts", 300],
        ["z.test.ts", 200],
      ]),
      2,
    ),
  ).toEqual([
    ["x.test.ts", "y.test.ts"],
    ["new.test.ts", "z.test.ts"],
  ]);
  expect(dealByDuration(["only.test.ts"], new Map(), 4)).toEqual([["only.test.ts"]]);
});

test("the durations come from a readable table, and a missing or malformed one weighs every file the same", () => {
  const directory = mkdtempSync(join(tmpdir(), "org-timings-"));
  try {
    const table = join(directory, "test-timings.json");
    writeFileSync(table, JSON.stringify({ version: 1, files: { "a.test.ts": 1200 } }));
    expect([...recordedDurations(table)]).toEqual([["a.test.ts", 1200]]);
    writeFileSync(table, JSON.stringify({ version: 1, files: { "a.test.ts": -5 } }));
    expect(recordedDurations(table).size).toBe(0);
    writeFileSync(table, "not json");
    expect(recordedDurations(table).size).toBe(0);
    expect(recordedDurations(join(directory, "absent.json")).size).toBe(0);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});

/** Makes `dir` a repository with a module that names the tool folder (.org/ ignored); returns "commit everything" (→ the commit). */
function loaderRepo(dir: string): (message: string) => string {
  writeFileSync(join(dir, ".gitignore"), ".org/\n");
  writeFileSync(join(dir, "loader.ts"), 'export const GENERATED_DIR = "tools/generated";\n');
  return (message) => {
    gitSync(dir, ["add", "-A"]);
    gitSync(dir, ["commit", "--quiet", "-m", message]);
    return gitSync(dir, ["rev-parse", "HEAD"]).trim();
  };
}

const READS =
  'import { expect, test } from "bun:test";\nimport { readdirSync } from "node:fs";\nimport { GENERATED_DIR } from "./loader.ts";\ntest("lists the tools", () => {\n  expect(readdirSync(GENERATED_DIR).length).toBeGreaterThan(0);\n});\n';
const IGNORES =
  'import { expect, test } from "bun:test";\nimport { GENERATED_DIR } from "./loader.ts";\ntest("names the folder", () => {\n  expect(GENERATED_DIR).toBe("tools/generated");\n});\n';

/** A repository with a test that reads the tool folder, one that only names it, and one tool; its first commit. */
function readersRepo(prefix: string) {
  const repo = tempGitRepo(prefix);
  const git = new RepoGit(repo.dir);
  const commitAll = loaderRepo(repo.dir);
  writeFileSync(join(repo.dir, "reads.test.ts"), READS);
  writeFileSync(join(repo.dir, "ignores.test.ts"), IGNORES);
  mkdirSync(join(repo.dir, "tools", "generated", "word_count"), { recursive: true });
  writeFileSync(join(repo.dir, "tools", "generated", "word_count", "tool.ts"), "export {};\n");
  mkdirSync(join(repo.dir, "docs"));
  writeFileSync(join(repo.dir, "docs", "guide.md"), "# guide\n");
  return { repo, git, commitAll, main: commitAll("code and one tool") };
}

/** This repository's signed trace records, by name. */
const records = (dir: string) =>
  existsSync(join(dir, READERS_DIR))
    ? readdirSync(join(dir, READERS_DIR))
        .filter((name) => name.endsWith(".json"))
        .sort()
    : [];

test.skipIf(!workingStrace())(
  "with a record, a code version is traced once; its later candidates run only the files that read the tools; a change traces the files that read it",
  async () => {
    const { repo, git, commitAll, main } = readersRepo("org-readers-");
    using _ = repo;
    let said: string[] = [];
    const run = (commit: string) => {
      said = [];
      return runReachableTests(repo.dir, process.execPath, 60_000, undefined, { git, commit }, (line) => said.push(line));
    };

    const first = await run(main);
    expect(first.ok).toBe(true);
    expect(first.figures).toMatchObject({
      selection: "traced",
      ran: ["ignores.test.ts", "reads.test.ts"],
      traced: ["ignores.test.ts", "reads.test.ts"],
      notReading: ["ignores.test.ts"],
      passed: 2,
    });
    // It says that it traces, why, and how far it is.
    expect(first.figures?.traceReason).toBe("first trace for this code");
    expect(said).toEqual([
      "tracing the 2 test file(s) this change reaches, each alone under strace, once for this code (first trace for this code)",
      "tracing the tests this change reaches: 2/2",
    ]);
    const [record] = records(repo.dir);
    expect(record).toBeDefined();

    // A candidate that adds a tool: same code, so only the reader runs.
    writeFileSync(join(repo.dir, "tools", "generated", "word_count", "tool.ts"), "export const changed = 1;\n");
    mkdirSync(join(repo.dir, "tools", "generated", "letters"));
    writeFileSync(join(repo.dir, "tools", "generated", "letters", "tool.ts"), "export {};\n");
    const candidate = commitAll("a candidate's tools");
    const second = await run(candidate);
    expect(second.figures).toMatchObject({ selection: "recorded readers", ran: ["reads.test.ts"], notReading: ["ignores.test.ts"], passed: 1 });
    expect(said).toEqual(["running the 1 test file(s) this change reaches (those that read tools/generated/ when this code was traced)"]);

    // A record not signed by this checkout's gate key is not believed: the code is traced again.
    writeFileSync(join(repo.dir, READERS_DIR, record ?? ""), `${JSON.stringify({ version: 3, key: record?.slice(0, 64), mac: "0".repeat(64) })}\n`);
    expect((await run(candidate)).figures).toMatchObject({
      selection: "traced",
      traced: ["ignores.test.ts", "reads.test.ts"],
      traceReason: "first trace for this code",
    });

    // Files neither test read (docs, changed and added in a folder no test lists): nothing is traced again.
    writeFileSync(join(repo.dir, "docs", "guide.md"), "# the guide\n");
    writeFileSync(join(repo.dir, "docs", "notes.md"), "# notes\n");
    expect((await run(commitAll("a doc"))).figures).toMatchObject({ selection: "recorded readers", ran: ["reads.test.ts"] });

    // Changed code: the files that depended on it are traced again, and a test that now reads the folder is found;
    // the other's verdict stands (it read the folder: it runs, untraced).
    writeFileSync(
      join(repo.dir, "ignores.test.ts"),
      IGNORES.replace('toBe("tools/generated")', 'toBe("tools/generated");\n  require("node:fs").existsSync(`${GENERATED_DIR}/letters`)'),
    );
    const changed = await run(commitAll("code change"));
    const ran = ["ignores.test.ts", "reads.test.ts"];
    expect(changed.figures).toMatchObject({ selection: "traced", traced: ["ignores.test.ts"], ran, notReading: [] });
    expect(changed.figures?.traceReason).toBe("code changed: 1 file(s) (ignores.test.ts) since the last trace");
    expect(said[0]).toBe(
      "tracing the 1 test file(s) this change reaches, each alone under strace, once for this code " +
        "(code changed: 1 file(s) (ignores.test.ts) since the last trace), and running the 1 that read tools/generated/ when traced before",
    );

    // A test that fails only under the tracer (as one with a time limit of its own may) runs again untraced, which
    // decides; it counts as a reader, and the record still holds (the readers are then a superset).
    writeFileSync(
      join(repo.dir, "ignores.test.ts"),
      IGNORES.replace(
        'toBe("tools/generated");',
        'toBe("tools/generated");\n  expect(require("node:fs").readFileSync("/proc/self/status", "utf8")).toMatch(/TracerPid:\\s+0\\n/);',
      ),
    );
    const before = records(repo.dir);
    const slowTraced = await run(commitAll("a test the tracer breaks"));
    expect(slowTraced.ok).toBe(true);
    expect(slowTraced.figures).toMatchObject({ selection: "traced", passedUntraced: ["ignores.test.ts"], notReading: [], passed: 2 });
    expect(records(repo.dir)).not.toEqual(before);

    // A traced run with a failure records nothing: a test that stopped early may not have reached its reads.
    writeFileSync(join(repo.dir, "reads.test.ts"), READS.replace("toBeGreaterThan(0)", "toBeGreaterThan(99)"));
    const written = records(repo.dir);
    const failing = await run(commitAll("a failing test"));
    expect(failing.ok).toBe(false);
    expect(records(repo.dir)).toEqual(written);
  },
  120_000,
);

test.skipIf(!workingStrace())(
  "a trace shipped with the code: a fresh checkout runs only its readers; a change traces only the files that depended on it",
  async () => {
    const { repo, git, commitAll, main } = readersRepo("org-readers-shipped-");
    using _ = repo;
    // As npm run trace:ship makes it: the verdicts of a complete trace, without the environment, in the checkout.
    const traced = await traceReachableTests(
      { git, commit: main, shippedFrom: repo.dir },
      { bun: process.execPath, timeoutMs: 60_000, signal: new AbortController().signal },
    );
    expect(traced).toMatchObject({ traced: true, said: "traced 2 file(s): 1 of the 2 read tools/generated/ (recorded for this code)" });
    mkdirSync(join(repo.dir, "fitness"));
    writeFileSync(join(repo.dir, SHIPPED_TRACE_FILE), shippedTraceText(traced.verdicts as TraceVerdicts));
    // A fresh clone has no records of its own.
    rmSync(join(repo.dir, READERS_DIR), { recursive: true });
    const candidate = commitAll("the shipped trace, committed");
    const run = (commit: string) => runReachableTests(repo.dir, process.execPath, 60_000, undefined, { git, commit, shippedFrom: repo.dir });
    expect((await run(candidate)).figures).toMatchObject({
      selection: "recorded readers",
      shipped: ["ignores.test.ts", "reads.test.ts"],
      ran: ["reads.test.ts"],
      notReading: ["ignores.test.ts"],
    });
    expect(records(repo.dir)).toEqual([]);

    // Another bun build, or the trace edited by hand: it does not stand, and every file is traced.
    const shipped = readFileSync(join(repo.dir, SHIPPED_TRACE_FILE), "utf8");
    writeFileSync(join(repo.dir, SHIPPED_TRACE_FILE), shipped.replace(`"bun":"${Bun.revision}"`, '"bun":"0.0.1+0000000"'));
    expect((await run(candidate)).figures).toMatchObject({ selection: "traced", traced: ["ignores.test.ts", "reads.test.ts"] });
    writeFileSync(join(repo.dir, SHIPPED_TRACE_FILE), shipped);
    rmSync(join(repo.dir, READERS_DIR), { recursive: true });

    writeFileSync(join(repo.dir, "ignores.test.ts"), IGNORES.replace("names the folder", "still names the folder"));
    const changed = await run(commitAll("a test changed"));
    const notReading = ["ignores.test.ts"];
    expect(changed.figures).toMatchObject({ selection: "traced", traced: ["ignores.test.ts"], shipped: ["reads.test.ts"], notReading });
    expect(changed.figures?.traceReason).toBe("code changed: 1 file(s) (ignores.test.ts) since the last trace");
  },
  120_000,
);

test.skipIf(!workingStrace())(
  "a trace a candidate ships in its own tree decides nothing: only org's checkout's is read, so every file that reads the tools still runs",
  async () => {
    const { repo, git, commitAll, main } = readersRepo("org-readers-forged-");
    using _ = repo;
    // Forged as a hostile candidate would: both files "clear", its key and digests consistent with the candidate's tree.
    const view = await treeStatesAt(git, main);
    const keys = (test: string) => ["package-lock.json", test];
    const forged = verdictsRecord(
      traceContext(process.execPath, gateTestEnvironment().keyed),
      view,
      new Map(["ignores.test.ts", "reads.test.ts"].map((test) => [test, { reads: false, keys: keys(test) }])),
    );
    mkdirSync(join(repo.dir, "fitness"));
    writeFileSync(join(repo.dir, SHIPPED_TRACE_FILE), shippedTraceText(forged));
    const candidate = commitAll("a candidate that ships a trace");
    const run = (shippedFrom?: string) =>
      runReachableTests(repo.dir, process.execPath, 60_000, undefined, { git, commit: candidate, ...(shippedFrom ? { shippedFrom } : {}) });
    // Were it org's own checkout's file, it would be believed (the test would mean nothing otherwise)...
    expect((await run(repo.dir)).figures).toMatchObject({ selection: "recorded readers", ran: [], shipped: ["ignores.test.ts", "reads.test.ts"] });
    // ...but the gate reads the checkout org runs from, never the tree judged: both files are traced, the reader runs.
    const judged = await run();
    expect(judged.ok).toBe(true);
    const both = ["ignores.test.ts", "reads.test.ts"];
    expect(judged.figures).toMatchObject({ selection: "traced", traced: both, notReading: ["ignores.test.ts"], passed: 2 });
    expect(judged.figures?.shipped).toBeUndefined();
  },
  120_000,
);

test.skipIf(!workingStrace())(
  "the gate's stage: files chosen from the commit's objects as from a checkout; no worktree is made when the recorded trace leaves no file to run",
  async () => {
    using repo = tempGitRepo("org-readers-none-");
    const git = new RepoGit(repo.dir);
    const commitAll = loaderRepo(repo.dir);
    writeFileSync(
      join(repo.dir, "ignores.test.ts"),
      'import { expect, test } from "bun:test";\nimport { GENERATED_DIR } from "./loader.ts";\ntest("names the folder", () => {\n  expect(GENERATED_DIR).toBe("tools/generated");\n});\n',
    );
    // Not chosen, from a checkout or from the objects alike: a dot-folder, a file that only looks like a test.
    mkdirSync(join(repo.dir, ".hidden"));
    writeFileSync(join(repo.dir, ".hidden", "x.test.ts"), 'import "../loader.ts";\n');
    writeFileSync(join(repo.dir, "notes.test.md"), "import './loader.ts'\n");
    mkdirSync(join(repo.dir, "tools", "generated", "word_count"), { recursive: true });
    writeFileSync(join(repo.dir, "tools", "generated", "word_count", "tool.ts"), "export {};\n");
    const main = commitAll("code and one tool");
    expect(await reachableTestsAt(git, main)).toEqual(reachableTests(repo.dir));
    expect(reachableTests(repo.dir)).toEqual({ tests: ["ignores.test.ts"], loaders: ["loader.ts"] });

    const worktrees = join(repo.dir, ".org", "worktrees");
    const first = await judgeReachableTests(git, main, process.execPath, 60_000, new AbortController().signal);
    expect(first.figures).toMatchObject({ selection: "traced", ran: ["ignores.test.ts"], notReading: ["ignores.test.ts"], passed: 1 });
    // The trace ran the file in a fresh worktree, since removed.
    expect(existsSync(worktrees)).toBe(true);
    expect(gitSync(repo.dir, ["worktree", "list"]).trim().split("\n")).toHaveLength(1);
    rmSync(worktrees, { recursive: true });

    writeFileSync(join(repo.dir, "tools", "generated", "word_count", "tool.ts"), "export const changed = 1;\n");
    const candidate = commitAll("a candidate's tool");
    const second = await judgeReachableTests(git, candidate, process.execPath, 60_000, new AbortController().signal);
    expect(second).toMatchObject({ ok: true, figures: { selection: "recorded readers", ran: [], notReading: ["ignores.test.ts"] } });
    expect(existsSync(worktrees)).toBe(false);
  },
  120_000,
);
