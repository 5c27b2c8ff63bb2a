import { expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gateTestEnvironment } from "../config/environment.ts";
import { RepoGit } from "../git/repo-git.ts";
import { filesOutsideTools } from "../git/tool-tree.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import {
  knownVerdicts,
  readShippedTrace,
  SHIPPED_TRACE_FILE,
  shippedTraceText,
  traceContext,
  type Verdict,
  verdictsRecord,
  writeVerdicts,
} from "./folder-readers.ts";
import type { TraceReading } from "./folder-trace.ts";
import { traceDependencies, TreeStates } from "./trace-dependencies.ts";

const SHELL = {
  PATH: "/usr/bin:/bin",
  HOME: "/home/someone",
  ORG_SANDBOX: "on",
  LANG: "C.UTF-8",
  TERM: "xterm",
  OLLAMA_BASE: "http://127.0.0.1:11434",
};

test("the tests stage gets PATH, HOME, TMPDIR and a few harmless variables of the gate's, never its model server, keys or org settings", () => {
  const shell = {
    ...SHELL,
    TMPDIR: "/tmp/x",
    OPENAI_API_KEY: "sk-secret",
    ORG_API_TOKEN: "t",
    ORG_PROFILE: "prod",
    BUN_CONFIG_X: "1",
    ORG_TEST_RUN: "run-1",
  };
  expect(gateTestEnvironment(shell)).toEqual({
    variables: {
      PATH: "/usr/bin:/bin",
      HOME: "/home/someone",
      TMPDIR: "/tmp/x",
      LANG: "C.UTF-8",
      TERM: "xterm",
      ORG_TEST_RUN: "run-1",
      // The tests' own org folder, under TMPDIR: never the person's under HOME.
      ORG_HOME: `/tmp/x/org-gate-home-${process.getuid?.() ?? 0}`,
    },
    keyed: { PATH: "/usr/bin:/bin", HOME: "/home/someone", TMPDIR: "/tmp/x" },
  });
});

test("a trace's context is the same whatever else the shell holds: other tools, OLLAMA_BASE or not, OLDPWD, SHLVL, npm_*", () => {
  const context = (variables: Record<string, string>) => traceContext(process.execPath, gateTestEnvironment(variables).keyed);
  const base = context(SHELL);
  expect(base.bun).toBe(Bun.revision);
  const { OLLAMA_BASE: _base, ...withoutModel } = SHELL;
  const another = {
    ...withoutModel,
    OLDPWD: "/tmp",
    _: "/usr/bin/org",
    SHLVL: "3",
    TMUX_PANE: "%3",
    npm_lifecycle_event: "start",
    ORG_PROFILE: "prod",
  };
  expect(context(another)).toEqual(base);
  // What can move what a test touches into the worktree makes another context for this checkout's records.
  expect(context({ ...SHELL, PATH: "/opt/bin:/usr/bin:/bin" })).not.toEqual(base);
  expect(context({ ...SHELL, HOME: "/home/other" })).not.toEqual(base);
});

/** A repository with code in two folders and a doc, its tree as a traced test sees it. */
function repository() {
  const repo = tempGitRepo("org-verdicts-");
  const git = new RepoGit(repo.dir);
  const write = (path: string, text: string) => {
    mkdirSync(join(repo.dir, path, ".."), { recursive: true });
    writeFileSync(join(repo.dir, path), text);
  };
  write("package-lock.json", "{}\n");
  write("room/room.ts", "export const room = 1;\n");
  write("room/room.test.ts", 'import "./room.ts";\n');
  write("config/config.ts", "export const config = 1;\n");
  write("config/config.test.ts", 'import "./config.ts";\n');
  write("docs/guide.md", "# guide\n");
  const commit = async (message: string) => {
    gitSync(repo.dir, ["add", "-A"]);
    gitSync(repo.dir, ["commit", "--quiet", "-m", message]);
    const head = gitSync(repo.dir, ["rev-parse", "HEAD"]).trim();
    return new TreeStates(await filesOutsideTools(git, head));
  };
  return { repo, write, commit };
}

const reading = (paths: { touched?: string[]; listed?: string[]; handed?: string[]; unplaced?: boolean }): TraceReading => ({
  firstAccess: undefined,
  touched: new Set(paths.touched),
  listed: new Set(paths.listed),
  handed: new Set(paths.handed),
  unplaced: paths.unplaced ?? false,
});

test("a verdict stands while every path its file depended on is as traced: a file read, a folder listed, a folder handed on whole", async () => {
  const { repo, write, commit } = repository();
  using _ = repo;
  const context = traceContext(process.execPath, gateTestEnvironment(SHELL).keyed);
  const traced = await commit("code");
  const verdicts = new Map<string, Verdict>([
    ["room/room.test.ts", { reads: false, keys: traceDependencies(reading({ touched: ["room/room.test.ts", "room/room.ts"], listed: ["room"] })) }],
    ["config/config.test.ts", { reads: true, keys: traceDependencies(reading({ touched: ["config/config.test.ts"], handed: ["config"] })) }],
  ]);
  expect(verdicts.get("room/room.test.ts")?.keys).toEqual(["package-lock.json", "room/", "room/room.test.ts", "room/room.ts"]);
  writeVerdicts(repo.dir, context, traced, verdicts);
  const tests = ["config/config.test.ts", "room/room.test.ts"];
  const known = (view: TreeStates) => knownVerdicts(repo.dir, tests, view, context);

  // Nothing either read changed (a doc did): both stand, with their verdicts.
  write("docs/guide.md", "# guide, longer\n");
  const docs = known(await commit("a doc"));
  expect(Object.fromEntries([...docs.verdicts].map(([test, { reads, source }]) => [test, { reads, source }]))).toEqual({
    "config/config.test.ts": { reads: true, source: "recorded" },
    "room/room.test.ts": { reads: false, source: "recorded" },
  });

  // A file read changed: that file's verdict alone falls, and the reason names the path.
  write("room/room.ts", "export const room = 2;\n");
  const edited = known(await commit("room changed"));
  expect([...edited.verdicts.keys()]).toEqual(["config/config.test.ts"]);
  expect(edited.reason).toBe("code changed: 1 file(s) (room/room.ts) since the last trace");

  // A file added to a folder listed (room/) or handed on whole (config/): neither stands.
  write("room/room.ts", "export const room = 1;\n");
  write("room/other.ts", "export {};\n");
  write("config/more.ts", "export {};\n");
  const added = known(await commit("files added"));
  expect(added.verdicts.size).toBe(0);
  expect(added.reason).toBe("code changed: 2 file(s) (config/**, room/) since the last trace");
});

test("an unplaced path makes the whole tree the file's dependency; a test not traced before is said so", async () => {
  const { repo, write, commit } = repository();
  using _ = repo;
  const context = traceContext(process.execPath, gateTestEnvironment(SHELL).keyed);
  const verdicts = new Map<string, Verdict>([
    ["room/room.test.ts", { reads: false, keys: traceDependencies(reading({ touched: ["room/room.ts"], unplaced: true })) }],
  ]);
  expect(verdicts.get("room/room.test.ts")?.keys).toEqual(["/**"]);
  writeVerdicts(repo.dir, context, await commit("code"), verdicts);
  write("docs/guide.md", "# another\n");
  const later = knownVerdicts(repo.dir, ["room/room.test.ts", "config/config.test.ts"], await commit("a doc"), context);
  expect(later.verdicts.size).toBe(0);
  expect(later.reason).toBe(
    "code changed: 1 file(s) (/**) since the last trace; other tests import a module that reads tools/generated/ (config/config.test.ts)",
  );
});

test("the shipped trace stands for the files whose paths are as shipped, wherever the tests' variables point, but with a relative folder on PATH", async () => {
  const { repo, write, commit } = repository();
  using _ = repo;
  const here = traceContext(process.execPath, gateTestEnvironment(SHELL).keyed);
  const view = await commit("code");
  const verdicts = new Map<string, Verdict>([["room/room.test.ts", { reads: false, keys: ["package-lock.json", "room/room.ts"] }]]);
  // Shipped: written as `npm run trace:ship` writes it, without the environment, and read back.
  mkdirSync(join(repo.dir, "fitness"));
  writeFileSync(join(repo.dir, SHIPPED_TRACE_FILE), shippedTraceText(verdictsRecord(here, view, verdicts)));
  const shipped = readShippedTrace(repo.dir);
  expect(shipped).toBeDefined();
  expect(shipped?.context.environment).toBeUndefined();
  const elsewhere = traceContext(process.execPath, gateTestEnvironment({ ...SHELL, HOME: "/home/other", PATH: "/opt/bin:/bin" }).keyed);
  const stands = knownVerdicts(repo.dir, ["room/room.test.ts"], view, elsewhere, { shipped, path: "/opt/bin:/bin" });
  expect(stands.verdicts.get("room/room.test.ts")).toMatchObject({ reads: false, source: "shipped" });
  // A relative folder on PATH finds programs in the worktree the tests run in: the shipped trace does not stand.
  const relative = knownVerdicts(repo.dir, ["room/room.test.ts"], view, elsewhere, { shipped, path: "node_modules/.bin:/bin" });
  expect(relative).toEqual({ verdicts: new Map(), reason: "the tests' PATH names a relative folder since the last trace" });
  // Edited by hand, or merged from two refreshes: its key no longer matches its content, and it is not read.
  const text = shippedTraceText(verdictsRecord(here, view, verdicts)).replace('"1 100644', '"1 100755');
  writeFileSync(join(repo.dir, SHIPPED_TRACE_FILE), text);
  expect(readShippedTrace(repo.dir)).toBeUndefined();
  // Changed code: the shipped verdict does not stand.
  write("room/room.ts", "export const room = 3;\n");
  const changed = knownVerdicts(repo.dir, ["room/room.test.ts"], await commit("room changed"), elsewhere, { shipped, path: "/bin" });
  expect(changed.verdicts.size).toBe(0);
  expect(changed.reason).toBe("code changed: 1 file(s) (room/room.ts) since the last trace");
});
