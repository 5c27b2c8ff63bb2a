// No test may depend on where it runs: the suite's checkout-sensitive tests run in a throw-away clone that has grown
// as a user's checkout grows (a tool of its own, a word_count of another shape than the tests' fixtures, a saved
// workflow), at a detached HEAD, inside a 0700 folder (as a clone in /root, or anything `mktemp -d`
// makes: as root, a process run as another user cannot reach it), under a HOME whose git config signs, hooks, aliases
// and names branches its own way, with org npm-linked from the clone first on PATH and a stranger's `org` after it.
// The files are dealt over a few test files (where-it-runs.part-N.test.ts) by their recorded durations, so that
// bun's --parallel runs the parts at once: each part makes its own clone and runs its share there. `npm test` runs
// those files there only (testing/where-it-runs.files lists them), never a second time in this checkout.
import { expect } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { dealByDuration, recordedDurations } from "../fitness/test-durations.ts";
import { checkoutSensitiveFiles } from "./where-it-runs-files.ts";
import { orgClone } from "./org-clone.ts";
import { gitSync } from "./temp-git-repo.ts";
import { GENERATED_TOOLS_DIR, WORKFLOWS_DIR } from "../config/workspace-paths.ts";
import { writeGeneratedTool } from "./generated-tool-files.ts";
import { wordCountSpec, writeGeneratedTool as writeTool } from "./generated-tool-fixture.ts";

/** How many test files the checkout-sensitive files are dealt over (`where-it-runs.part-<n>.test.ts`). */
export const WHERE_IT_RUNS_PARTS = 3;

/**
 * A HOME as a hostile user's: git signs with a program that fails, runs hooks that fail, names branches `trunk`;
 * npm's global prefix holds `org` linked to `checkout` (the README's `npm link`), and a stranger's `org` waits
 * further down PATH.
 */
function hostileHome(scratch: string, checkout: string): { home: string; fakeBin: string; npmPrefix: string } {
  const home = join(scratch, "home");
  const hooks = join(home, "hooks");
  const fakeBin = join(home, "bin");
  const npmPrefix = join(home, "npm-global");
  mkdirSync(hooks, { recursive: true });
  mkdirSync(fakeBin);
  mkdirSync(join(npmPrefix, "bin"), { recursive: true });
  mkdirSync(join(home, ".config", "git"), { recursive: true });
  const failing = "#!/bin/sh\necho 'a hook of the user ran' >&2\nexit 1\n";
  for (const hook of ["pre-commit", "commit-msg", "pre-merge-commit", "post-checkout", "reference-transaction", "pre-push"]) {
    writeFileSync(join(hooks, hook), failing);
    chmodSync(join(hooks, hook), 0o755);
  }
  const config = [
    "[commit]\n\tgpgSign = true",
    "[tag]\n\tgpgSign = true\n\tforceSignAnnotated = true",
    "[gpg]\n\tprogram = /bin/false",
    "[init]\n\tdefaultBranch = trunk",
    `[core]\n\thooksPath = ${hooks}\n\tfsmonitor = true\n\tautocrlf = true`,
    "[alias]\n\tcommit = !false\n\tstatus = !false",
    "[pull]\n\trebase = true",
    "[merge]\n\tff = only",
    "[user]\n\tuseConfigOnly = true",
    "[color]\n\tui = always",
    "[advice]\n\tdetachedHead = true",
    "",
  ].join("\n");
  writeFileSync(join(home, ".gitconfig"), config);
  writeFileSync(join(home, ".config", "git", "config"), config);
  writeFileSync(join(fakeBin, "org"), "#!/bin/sh\necho 'a stranger org ran' >&2\nexit 3\n");
  chmodSync(join(fakeBin, "org"), 0o755);
  mkdirSync(join(npmPrefix, "lib", "node_modules"), { recursive: true });
  symlinkSync(checkout, join(npmPrefix, "lib", "node_modules", "org"));
  symlinkSync(join("..", "lib", "node_modules", "org", "bin", "org"), join(npmPrefix, "bin", "org"));
  return { home, fakeBin, npmPrefix };
}

/** The test process's environment minus what would name an identity or a git config, plus the hostile parts. */
function hostileEnv(home: string, fakeBin: string, npmPrefix: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || name.startsWith("GIT_") || name === "EMAIL" || name === "TMUX" || name.startsWith("npm_")) continue;
    env[name] = value;
  }
  env.HOME = home;
  env.XDG_CONFIG_HOME = join(home, ".config");
  env.PATH = `${join(npmPrefix, "bin")}:${fakeBin}:${process.env.PATH ?? "/usr/bin:/bin"}`;
  env.npm_config_prefix = npmPrefix;
  env.NPM_CONFIG_PREFIX = npmPrefix;
  return env;
}

/**
 * What a user's grown checkout holds that this one may not (issue 75: a test that read the checkout's own word_count
 * blocked every candidate): a tool under a name the checkout has not promoted; a word_count built from another goal's
 * wording, answering `{"count":N}` where the tests' fixtures answer `{"words":N}` (when the checkout has none); and a
 * saved workflow that calls it. Committed by the caller.
 */
function growAsAUser(checkout: string): void {
  const generated = join(checkout, GENERATED_TOOLS_DIR);
  const taken = new Set(existsSync(generated) ? readdirSync(generated) : []);
  let extra = "echo_len";
  for (let suffix = 2; taken.has(extra); suffix += 1) extra = `echo_len_${suffix}`;
  writeGeneratedTool(checkout, extra);
  if (!taken.has("word_count")) writeTool(checkout, COUNT_SHAPED.spec, COUNT_SHAPED.code, COUNT_SHAPED.tests);
  let workflow = "count-words";
  for (let suffix = 2; existsSync(join(checkout, WORKFLOWS_DIR, `${workflow}.json`)); suffix += 1) workflow = `count-words-${suffix}`;
  const saved = {
    name: workflow,
    inputs: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    steps: [{ id: "count", tool: "word_count", inputs: { text: "$inputs.text" } }],
    output: { count: "$steps.count.output.count" },
  };
  writeFileSync(join(checkout, WORKFLOWS_DIR, `${workflow}.json`), `${JSON.stringify(saved, null, 2)}\n`);
}

/** A word_count as another goal's wording builds it: `{ text }` → `{ count }`. */
const COUNT_SHAPED = {
  spec: {
    ...wordCountSpec("word_count", "Counts the words in a text."),
    output_schema: { type: "object", properties: { count: { type: "integer" } }, required: ["count"] },
    examples: [
      { input: { text: "a b" }, output: { count: 2 } },
      { input: { text: "" }, output: { count: 0 } },
    ],
  },
  code: "export default (input: { text: string }) => ({ count: input.text.split(/\\s+/).filter(Boolean).length });\n",
  tests:
    'import { expect, test } from "bun:test";\nimport tool from "./tool.ts";\n' +
    'test("counts", () => expect(tool({ text: "a b" })).toEqual({ count: 2 }));\n',
};

/** What one part's run in the clone said: its exit code, the lines that report a failure, and all of its output. */
type ElsewhereRun = { files: string[]; code: number; failures: string[]; output: string };

/**
 * Part `part` (1-based) of `WHERE_IT_RUNS_PARTS`: its share of the checkout-sensitive files (dealt by recorded
 * durations, the same way in every part), run with the clone's own bun in a clone under a 0700 folder at a detached
 * HEAD grown as a user's (`growAsAUser`), a hostile HOME and git config, and org npm-linked first on PATH.
 */
async function runWhereItRunsPart(part: number): Promise<ElsewhereRun> {
  const scratch = mkdtempSync(join(tmpdir(), "org-elsewhere-"));
  try {
    const privateParent = join(scratch, "private");
    mkdirSync(privateParent, { mode: 0o700 });
    chmodSync(privateParent, 0o700);
    // Its bun and packages under the 0700 folder too, not a link out of it.
    using clone = orgClone("org-elsewhere-clone-", { parent: privateParent, ownNodeModules: true });
    growAsAUser(clone.dir);
    gitSync(clone.dir, ["add", "-A"]);
    gitSync(clone.dir, ["commit", "--quiet", "-m", "feat(tools): what a user's checkout grows"]);
    gitSync(clone.dir, ["checkout", "--quiet", "--detach"]);
    const { home, fakeBin, npmPrefix } = hostileHome(scratch, clone.dir);
    const env = hostileEnv(home, fakeBin, npmPrefix);
    const files = whereItRunsShares(clone.dir)[part - 1] ?? [];
    // The candidate tests stage's bun, as fitness runs it: the clone's own.
    const bun = join(clone.dir, "node_modules", ".bin", "bun");
    // The parts run at once beside the rest of the suite: together they take about one worker a core.
    const workers = Math.max(1, Math.ceil(availableParallelism() / WHERE_IT_RUNS_PARTS));
    const argv = [bun, "test", "--timeout", "60000", `--parallel=${workers}`, "--no-isolate", "--timings=testing/test-timings.json"];
    const child = Bun.spawn([...argv, ...files.map((file) => `./${file}`)], {
      cwd: clone.dir,
      env,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 900_000);
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    clearTimeout(killer);
    const output = `${stdout}${stderr}`;
    // The scripted server's reset (cutAfterChunks with reset) is a fault a test asks for; bun prints it as an error.
    const failures = output.split("\n").filter((line) => /^\(fail\)|error:/.test(line) && !line.includes("scripted fault:"));
    return { files, code, failures, output };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The files of every part, in order: together, each checkout-sensitive file exactly once. */
export function whereItRunsShares(root: string): string[][] {
  return dealByDuration(checkoutSensitiveFiles(root), recordedDurations(), WHERE_IT_RUNS_PARTS);
}

/** Runs part `part` (`runWhereItRunsPart`) and expects every one of its files to pass there, with no stranger's `org` run. */
export async function expectPartPasses(part: number): Promise<void> {
  const run = await runWhereItRunsPart(part);
  // npm test runs these files here only: a failure shows what bun said of it.
  if (run.code !== 0 || run.failures.length > 0) process.stderr.write(`where-it-runs part ${part}, in the clone:\n${run.output.slice(-60_000)}\n`);
  expect(run.files.length).toBeGreaterThan(0);
  expect({ code: run.code, failures: run.failures }).toEqual({ code: 0, failures: [] });
  expect(run.output).toMatch(/\b0 fail\b/);
  // Their tests are counted in the clone's run, not in this one's totals: the log says how many passed there.
  const passed = [...run.output.matchAll(/^\s*(\d+) pass$/gm)].at(-1)?.[1];
  process.stderr.write(`where-it-runs part ${part}: ${passed ?? "?"} tests passed in ${run.files.length} files in the clone\n`);
  expect(Number(passed)).toBeGreaterThan(0);
  expect(run.output).not.toContain("a stranger org ran");
}
