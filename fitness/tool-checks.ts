import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_TOOL_FILES, GENERATED_TOOLS_DIR, generatedToolPath } from "../config/workspace-paths.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { runSandboxed } from "../sandbox/run-sandboxed.ts";
import { parseToolMetadata, sha256Hex, TOOL_NAME_PATTERN, type ToolMetadata } from "../generated-tools/tool-metadata.ts";
import { checkStaticPolicy } from "../toolsmith/static-policy.ts";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { validateTool } from "../toolsmith/validate-tool.ts";
import { SANDBOX_BUN, SANDBOX_TOOL_SOURCE_PRELOAD, TOOLCHAIN_ENV, toolchainMounts } from "../generated-tools/sandbox-toolchain.ts";
import type { FitnessCheck } from "../git/fitness-report.ts";

const TOOL_FILES = [...GENERATED_TOOL_FILES].sort();
type ToolFiles = Map<string, string>; // file name → blob id

/** The generated tools at a commit: tool name → its files' blob ids (read with git, nothing checked out). */
async function toolsAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Map<string, ToolFiles>> {
  const out = await git.run(["ls-tree", "-r", "-z", "--full-tree", "--end-of-options", commit, "--", `${GENERATED_TOOLS_DIR}/`], { signal });
  const tools = new Map<string, ToolFiles>();
  for (const entry of out.split("\0").filter(Boolean)) {
    const [meta = "", path = ""] = entry.split("\t");
    const blob = meta.split(" ")[2] ?? "";
    const [, , name = "", ...rest] = path.split("/");
    if (!tools.has(name)) tools.set(name, new Map());
    tools.get(name)?.set(rest.join("/"), blob);
  }
  return tools;
}

const sameFiles = (a: ToolFiles | undefined, b: ToolFiles) => a !== undefined && a.size === b.size && [...b].every(([file, blob]) => a.get(file) === blob);

type JudgedTool = { name: string; toolCode: string; testCode: string; metadata: ToolMetadata; changed: boolean; testsFrom: "main" | "candidate" };

/**
 * Stage b: every generated tool of the candidate, judged by the gate itself. Each folder holds exactly a tool's
 * three files; metadata.json parses and its hashes match the files; no tool of main is deleted. All tools' tests
 * run in the sandbox, with main's test file for every tool main already has (an edited test cannot hide a break).
 * Each new or changed tool is validated again as the toolsmith does: static policy, typecheck, tests with
 * coverage, mutants (test strength), every spec example through the fixed runner, determinism.
 */
export async function checkGeneratedTools(
  git: RepoGit,
  request: { main: string; commit: string; runDir: string; settings: ToolsmithSettings; signal?: AbortSignal },
): Promise<FitnessCheck[]> {
  const { signal } = request;
  const checks: FitnessCheck[] = [];
  const add = (name: string, ok: boolean, reason: string, started: number, figures?: FitnessCheck["figures"]) =>
    checks.push({ stage: "tools", name, ok, reason, durationMs: performance.now() - started, ...(figures ? { figures } : {}) });

  let started = performance.now();
  const onMain = await toolsAt(git, request.main, signal);
  const onCandidate = await toolsAt(git, request.commit, signal);
  const deleted = [...onMain.keys()].filter((name) => !onCandidate.has(name));
  if (deleted.length > 0) {
    add("no tool deleted", false, `the candidate deletes promoted tool(s): ${deleted.join(", ")}`, started);
    return checks;
  }
  const blob = (id: string) => git.run(["cat-file", "blob", id], { signal });
  const judged: JudgedTool[] = [];
  const problems: string[] = [];
  for (const [name, files] of [...onCandidate].sort(([a], [b]) => a.localeCompare(b))) {
    const listed = [...files.keys()].sort();
    if (!TOOL_NAME_PATTERN.test(name)) {
      problems.push(`${JSON.stringify(name)} is not a tool name`);
      continue;
    }
    const toolId = files.get("tool.ts");
    const testsId = files.get("tool.test.ts");
    const metadataId = files.get("metadata.json");
    if (listed.join(",") !== TOOL_FILES.join(",") || toolId === undefined || testsId === undefined || metadataId === undefined) {
      problems.push(`${name}: the folder must hold exactly ${TOOL_FILES.join(", ")}; it holds ${listed.join(", ")}`);
      continue;
    }
    const toolCode = await blob(toolId);
    const ownTests = await blob(testsId);
    let metadata: ToolMetadata;
    try {
      metadata = parseToolMetadata(await blob(metadataId), generatedToolPath(name, "metadata.json"));
    } catch (error) {
      problems.push(`${name}: ${error instanceof Error ? error.message.split("\n")[0] : error}`);
      continue;
    }
    if (metadata.spec.name !== name) problems.push(`${name}: metadata.json names ${metadata.spec.name}`);
    if (metadata.files["tool.ts"] !== sha256Hex(toolCode) || metadata.files["tool.test.ts"] !== sha256Hex(ownTests)) {
      problems.push(`${name}: metadata.json's hashes do not match tool.ts and tool.test.ts`);
    }
    const mainFiles = onMain.get(name);
    const mainTestsId = mainFiles?.get("tool.test.ts");
    const testCode = mainTestsId ? await blob(mainTestsId) : ownTests;
    for (const problem of [...checkStaticPolicy(toolCode, "tool"), ...checkStaticPolicy(testCode, "tests")]) problems.push(`${name}: ${problem}`);
    judged.push({ name, toolCode, testCode, metadata, changed: !sameFiles(mainFiles, files), testsFrom: mainFiles ? "main" : "candidate" });
  }
  const changed = judged.filter((tool) => tool.changed).map((tool) => tool.name);
  add(
    "tool files, metadata hashes, static policy",
    problems.length === 0,
    problems.length === 0 ? `${judged.length} tool(s) well-formed; changed: ${changed.join(", ") || "none"}` : problems.slice(0, 10).join("; "),
    started,
    {
      tools: judged.length,
      changed,
    },
  );
  if (problems.length > 0) return checks;

  started = performance.now();
  const batch = await runAllToolTests(judged, join(request.runDir, "all-tools"), request.settings.testTimeoutMs, signal);
  const failing = batch.filter((result) => !result.ok);
  add(
    "every tool's tests (main's tests for main's tools)",
    failing.length === 0,
    failing.length === 0
      ? `${batch.length} tool(s) pass: ${judged.map((tool) => `${tool.name} (tests from ${tool.testsFrom})`).join(", ")}`
      : `failing: ${failing.map((result) => `${result.name} (${result.detail})`).join(", ")}`,
    started,
    { tools: batch.length, failing: failing.map((result) => result.name) },
  );
  if (failing.length > 0) return checks;

  for (const tool of judged.filter((entry) => entry.changed)) {
    started = performance.now();
    const report = await validateTool({
      runDir: join(request.runDir, "validate", tool.name),
      spec: tool.metadata.spec,
      heldOut: [],
      toolCode: tool.toolCode,
      testCode: tool.testCode,
      settings: request.settings,
      signal,
    });
    add(
      `${tool.name}: toolsmith validation again`,
      report.ok,
      report.ok
        ? `policy, typecheck, tests, mutants, ${tool.metadata.spec.examples.length} examples${tool.metadata.spec.deterministic ? ", determinism" : ""} pass (tests from ${tool.testsFrom})`
        : `${report.failure?.stage}: ${report.failure?.message.split("\n").slice(0, 3).join(" ")}`,
      started,
      {
        testsPassed: report.tests.passed,
        coverage: Math.round(report.coverage * 1000) / 1000,
        mutantsKilled: report.mutants.killed,
        mutantsTotal: report.mutants.total,
        examples: tool.metadata.spec.examples.length,
      },
    );
    if (!report.ok) return checks;
  }
  return checks;
}

/** Runs each tool's tests in its own bun process, two at a time, all inside one sandbox without network. */
async function runAllToolTests(
  tools: JudgedTool[],
  dir: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ name: string; ok: boolean; detail: string }[]> {
  rmSync(dir, { recursive: true, force: true });
  const toolsDir = join(dir, "tools");
  mkdirSync(join(dir, "scratch"), { recursive: true, mode: 0o755 });
  for (const tool of tools) {
    mkdirSync(join(toolsDir, tool.name), { recursive: true, mode: 0o755 });
    writeFileSync(join(toolsDir, tool.name, "tool.ts"), tool.toolCode);
    writeFileSync(join(toolsDir, tool.name, "tool.test.ts"), tool.testCode);
  }
  if (tools.length === 0) return [];
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  // Folder names are tool names (checked against the pattern); nothing else model-made reaches this line.
  // Each tool's code behind the same second layer as in the toolsmith's tests stage (generated-tools/tool-source-preload.ts).
  const script = `cd /org/tools && ls -d * | xargs -P 2 -I{} /bin/sh -c 'cd /org/tools/{} && timeout -s KILL ${seconds} ${SANDBOX_BUN} test --preload ${SANDBOX_TOOL_SOURCE_PRELOAD} ./tool.test.ts < ./tool.ts >/scratch/{}.log 2>&1; echo "{} $?"'`;
  const result = await runSandboxed({
    argv: ["/bin/sh", "-c", script],
    scratchDir: join(dir, "scratch"),
    timeoutMs: (seconds * tools.length * 1000) / 2 + 30_000,
    readOnlyMounts: [...toolchainMounts(), { source: toolsDir, target: "/org/tools" }],
    env: TOOLCHAIN_ENV,
    network: false,
    limits: { outputBytes: 256 * 1024 },
    abortSignal: signal,
  });
  const codes = new Map<string, number>();
  for (const match of result.stdout.matchAll(/^([a-z][a-z0-9_]{1,47}) (\d+)$/gm)) codes.set(match[1] as string, Number(match[2]));
  return tools.map((tool) => {
    const code = codes.get(tool.name);
    if (code === 0) return { name: tool.name, ok: true, detail: "pass" };
    return { name: tool.name, ok: false, detail: code === undefined ? "did not run" : code === 137 ? `killed after ${seconds} s` : `exit ${code}` };
  });
}
