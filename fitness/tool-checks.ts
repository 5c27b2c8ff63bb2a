import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_TOOL_FILES, GENERATED_TOOLS_DIR, generatedToolPath } from "../config/workspace-paths.ts";
import { RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { parseToolMetadata, sha256Hex, TOOL_NAME_PATTERN, type ToolMetadata } from "../generated-tools/tool-metadata.ts";
import type { checkStaticPolicy } from "../toolsmith/static-policy.ts";
import type { ToolsmithSettings } from "../config/toolsmith-settings.ts";
import { splitExamples } from "../toolsmith/split-examples.ts";
import type { ValidatedInput } from "../toolsmith/validate-tool.ts";
import { readValidationRecord, recordValidation, type ValidationRecord } from "./validation-record.ts";
import { codeIdentity } from "./code-identity.ts";
import { FITNESS_DIR } from "./gate-key.ts";
import { canonicalJson } from "../config/canonical-json.ts";
import { readSignedRecord, writeSignedRecord } from "./signed-records.ts";
import { z } from "zod";
import { SANDBOX_BUN, SANDBOX_TOOL_SOURCE_PRELOAD, TOOLCHAIN_ENV, toolchainMounts } from "../generated-tools/sandbox-toolchain.ts";
import type { FitnessCheck } from "./fitness-report.ts";

const TOOL_FILES = [...GENERATED_TOOL_FILES].sort();
type ToolFiles = Map<string, string>; // file name → blob id

/** The generated tools at a commit: tool name → its files' blob ids (read with git, nothing checked out). */
async function toolsAt(git: RepoGit, commit: string, signal?: AbortSignal): Promise<Map<string, ToolFiles>> {
  const tools = new Map<string, ToolFiles>();
  for (const { id: blob, path } of await git.treeEntries(commit, { recursive: true, paths: [`${GENERATED_TOOLS_DIR}/`], signal })) {
    const [, , name = "", ...rest] = path.split("/");
    if (!tools.has(name)) tools.set(name, new Map());
    tools.get(name)?.set(rest.join("/"), blob);
  }
  return tools;
}

const sameFiles = (a: ToolFiles | undefined, b: ToolFiles) =>
  a !== undefined && a.size === b.size && [...b].every(([file, blob]) => a.get(file) === blob);

type JudgedTool = { name: string; toolCode: string; testCode: string; metadata: ToolMetadata; changed: boolean; testsFrom: "main" | "candidate" };

/**
 * A tool's folder read with git: the problems that refuse it, or the tool as the gate judges it. The static `policy`
 * parses with TypeScript's compiler (8 MB), which the caller loads when this stage starts, so a gate that stops before
 * it (a refused core, an instance that cannot be judged) never pays for it.
 */
function readTool(
  name: string,
  files: ToolFiles,
  mainFiles: ToolFiles | undefined,
  blobs: Map<string, Buffer>,
  policy: typeof checkStaticPolicy,
): { problems: string[]; tool?: JudgedTool } {
  if (!TOOL_NAME_PATTERN.test(name)) return { problems: [`${JSON.stringify(name)} is not a tool name`] };
  if (RESERVED_TOOL_NAMES.includes(name))
    return { problems: [`${name} is a reserved tool name (a built-in, or one the room or the toolsmith adds): build it under another name`] };
  const listed = [...files.keys()].sort();
  const toolId = files.get("tool.ts");
  const testsId = files.get("tool.test.ts");
  const metadataId = files.get("metadata.json");
  if (listed.join(",") !== TOOL_FILES.join(",") || toolId === undefined || testsId === undefined || metadataId === undefined) {
    return { problems: [`${name}: the folder must hold exactly ${TOOL_FILES.join(", ")}; it holds ${listed.join(", ")}`] };
  }
  const blob = (id: string) => blobs.get(id)?.toString("utf8") ?? "";
  const toolCode = blob(toolId);
  const ownTests = blob(testsId);
  let metadata: ToolMetadata;
  try {
    metadata = parseToolMetadata(blob(metadataId), generatedToolPath(name, "metadata.json"));
  } catch (error) {
    return { problems: [`${name}: ${error instanceof Error ? error.message.split("\n")[0] : error}`] };
  }
  const problems: string[] = [];
  if (metadata.spec.name !== name) problems.push(`${name}: metadata.json names ${metadata.spec.name}`);
  if (metadata.files["tool.ts"] !== sha256Hex(toolCode) || metadata.files["tool.test.ts"] !== sha256Hex(ownTests)) {
    problems.push(`${name}: metadata.json's hashes do not match tool.ts and tool.test.ts`);
  }
  // main's test file for a tool main has: an edited test cannot hide a break.
  const mainTestsId = mainFiles?.get("tool.test.ts");
  const testCode = mainTestsId ? blob(mainTestsId) : ownTests;
  for (const problem of [...policy(toolCode, "tool"), ...policy(testCode, "tests")]) problems.push(`${name}: ${problem}`);
  const tool: JudgedTool = { name, toolCode, testCode, metadata, changed: !sameFiles(mainFiles, files), testsFrom: mainFiles ? "main" : "candidate" };
  return { problems, tool };
}

/** What the toolsmith's validation of `tool` is given, with the examples held out as the toolsmith holds them out. */
function validationInput(tool: JudgedTool, settings: ToolsmithSettings): ValidatedInput {
  const { spec } = tool.metadata;
  return { spec, heldOut: splitExamples(spec, settings.heldOutShare).heldOut, toolCode: tool.toolCode, testCode: tool.testCode, settings };
}

/**
 * A new or changed tool through the toolsmith's own validation again, with the examples held out as the toolsmith
 * holds them out, so the validation is the very one it ran. When this checkout's toolsmith, or an earlier gate,
 * recorded (signed with the gate key) that this code passed that validation of these exact files, spec and settings
 * (`recorded`, read by the caller unless `revalidate`), the record stands for it. A pass of its own is recorded the
 * same way (with the code's `identity`, when it can be told), so judging the same candidate again does not repeat it.
 */
async function validateAgain(
  tool: JudgedTool,
  recorded: ValidationRecord | undefined,
  request: SandboxAccess & { runDir: string; settings: ToolsmithSettings; repoDir: string; identity: string | undefined; signal?: AbortSignal },
): Promise<FitnessCheck> {
  const started = performance.now();
  const { spec } = tool.metadata;
  if (recorded) {
    return {
      stage: "tools",
      name: `${tool.name}: toolsmith validation again`,
      ok: true,
      reason:
        `recorded: this code passed the same validation of these files at ${recorded.validatedAt} ` +
        `(record ${recorded.key.slice(0, 12)}; --revalidate runs it)`,
      figures: {
        testsPassed: recorded.tests.passed,
        coverage: Math.round(recorded.coverage * 1000) / 1000,
        mutantsKilled: recorded.mutants.killed,
        mutantsTotal: recorded.mutants.total,
        examples: spec.examples.length,
        recorded: true,
      },
      durationMs: performance.now() - started,
    };
  }
  const input = validationInput(tool, request.settings);
  const { validateTool } = await import("../toolsmith/validate-tool.ts");
  const report = await validateTool({
    runDir: join(request.runDir, "validate", tool.name),
    ...input,
    sandbox: request.sandbox,
    sandboxPolicy: request.sandboxPolicy,
    ...(request.signal ? { signal: request.signal } : {}),
  });
  if (report.ok && request.identity !== undefined && !request.signal?.aborted)
    recordValidation(request.repoDir, input, report, { identity: request.identity });
  return {
    stage: "tools",
    name: `${tool.name}: toolsmith validation again`,
    ok: report.ok,
    reason: report.ok
      ? `policy, typecheck, tests, mutants, ${spec.examples.length} examples${
          spec.deterministic ? ", " + "determinism" : ""
        } pass (tests from ${tool.testsFrom})`
      : `${report.failure?.stage}: ${report.failure?.message.split("\n").slice(0, 3).join(" ")}`,
    figures: {
      testsPassed: report.tests.passed,
      coverage: Math.round(report.coverage * 1000) / 1000,
      mutantsKilled: report.mutants.killed,
      mutantsTotal: report.mutants.total,
      examples: spec.examples.length,
    },
    durationMs: performance.now() - started,
  };
}

export type ToolChecksRequest = SandboxAccess & {
  main: string;
  commit: string;
  runDir: string;
  settings: ToolsmithSettings;
  revalidate?: boolean;
  /** The identity of the code judging (`codeIdentity`), when the caller has told it already: undefined when it cannot be told. */
  code?: { identity: string | undefined };
  /** Called once every tool folder is well-formed and within the static policy, before the tools' tests run. */
  onWellFormed?: () => void;
  signal?: AbortSignal;
};

/**
 * Stage b: every generated tool of the candidate, judged by the gate itself. Each folder holds exactly a tool's
 * three files; metadata.json parses and its hashes match the files; no tool of main is deleted. All tools' tests
 * run in the sandbox, with main's test file for every tool main already has (an edited test cannot hide a break).
 * Each new or changed tool is validated again as the toolsmith does: static policy, typecheck, tests with
 * coverage, mutants (test strength), every spec example through the fixed runner, determinism.
 */
export async function checkGeneratedTools(git: RepoGit, request: ToolChecksRequest): Promise<FitnessCheck[]> {
  const { signal } = request;
  const read = await readCandidateTools(git, request);
  if (!read.judged) return [read.check];
  const { judged } = read;
  request.onWellFormed?.();

  const started = performance.now();
  // The code running this stage, told once (undefined when it cannot be, or changed on disk since the gate began: then
  // no record is used or made).
  const code = request.code ? request.code.identity : judgingCode();
  // The changed tools' validation (its own folders, its own processes) runs meanwhile; it is recorded after the
  // tools' tests and dropped, stopped, when they fail, so the checks are those of one after the other.
  const stopValidation = new AbortController();
  const validationSignal = signal ? AbortSignal.any([signal, stopValidation.signal]) : stopValidation.signal;
  // The toolsmith's records of the changed tools' validations, read once: each stands for its validation and, as that
  // validation ran the same test file on the same tool code under the same code and settings, for the tool's tests.
  const validationRecords = new Map(
    judged
      .filter((tool) => tool.changed && !request.revalidate && code !== undefined)
      .map((tool) => [tool.name, readValidationRecord(git.repoDir, validationInput(tool, request.settings), { identity: code })]),
  );
  const validations = validateChanged(judged, validationRecords, { ...request, repoDir: git.repoDir, identity: code, signal: validationSignal }).then(
    (validated) => ({ validated }),
    (error: unknown) => ({ error }),
  );
  try {
    const tests = await toolTestsCheck(git.repoDir, judged, validationRecords, { ...request, identity: code, started });
    if (!tests.ok) return [read.check, tests];
    const result = await validations;
    if ("error" in result) throw result.error;
    return [read.check, tests, ...result.validated];
  } finally {
    stopValidation.abort();
    await validations;
  }
}

/**
 * The candidate's tool folders read with git, the well-formed check's verdict on them (no promoted tool deleted;
 * each folder's files, hashes and static policy), and the tools to judge further when it passes.
 */
async function readCandidateTools(git: RepoGit, request: ToolChecksRequest): Promise<{ check: FitnessCheck; judged?: JudgedTool[] }> {
  const { signal } = request;
  const started = performance.now();
  const onMain = await toolsAt(git, request.main, signal);
  const onCandidate = await toolsAt(git, request.commit, signal);
  const deleted = [...onMain.keys()].filter((name) => !onCandidate.has(name));
  if (deleted.length > 0)
    return { check: toolsCheck("no tool deleted", false, `the candidate deletes promoted tool(s): ${deleted.join(", ")}`, started) };
  // Every file the tools' checks read, with one git process.
  const wanted = [...onCandidate].flatMap(([name, files]) =>
    [files.get("tool.ts"), files.get("tool.test.ts"), files.get("metadata.json"), onMain.get(name)?.get("tool.test.ts")].filter(
      (id) => id !== undefined,
    ),
  );
  const [blobs, { checkStaticPolicy }] = await Promise.all([
    git.readBlobs(wanted, { ...(signal ? { signal } : {}) }),
    import("../toolsmith/static-policy.ts"),
  ]);
  const judged: JudgedTool[] = [];
  const problems: string[] = [];
  for (const [name, files] of [...onCandidate].sort(([a], [b]) => a.localeCompare(b))) {
    const read = readTool(name, files, onMain.get(name), blobs, checkStaticPolicy);
    problems.push(...read.problems);
    if (read.tool) judged.push(read.tool);
  }
  const changed = judged.filter((tool) => tool.changed).map((tool) => tool.name);
  const ok = problems.length === 0;
  const reason = ok ? `${judged.length} tool(s) well-formed; changed: ${changed.join(", ") || "none"}` : problems.slice(0, 10).join("; ");
  const check = toolsCheck("tool files, metadata hashes, static policy", ok, reason, started, { tools: judged.length, changed });
  return ok ? { check, judged } : { check };
}

/** Each changed tool validated again, one after the other, up to the first that fails. */
async function validateChanged(
  judged: JudgedTool[],
  records: ReadonlyMap<string, ValidationRecord | undefined>,
  request: Parameters<typeof validateAgain>[2],
): Promise<FitnessCheck[]> {
  const validated: FitnessCheck[] = [];
  for (const tool of judged.filter((entry) => entry.changed)) {
    const check = await validateAgain(tool, records.get(tool.name), request);
    validated.push(check);
    if (!check.ok) break;
  }
  return validated;
}

/**
 * Every judged tool's tests: those this gate recorded passing with the same files and code, and those the
 * toolsmith's recorded validation ran, stand as passed; the others run in one sandbox, and a pass of all is recorded.
 */
async function toolTestsCheck(
  repoDir: string,
  judged: JudgedTool[],
  validationRecords: ReadonlyMap<string, ValidationRecord | undefined>,
  request: ToolChecksRequest & { identity: string | undefined; started: number },
): Promise<FitnessCheck> {
  const keys = toolTestKeys(judged, request.settings.testTimeoutMs, request.identity);
  const recorded = request.revalidate ? [] : judged.filter((tool) => hasPassRecord(repoDir, keys.get(tool.name)));
  const validated = judged.filter((tool) => !recorded.includes(tool) && validationRecords.get(tool.name) !== undefined);
  const toRun = judged.filter((tool) => !recorded.includes(tool) && !validated.includes(tool));
  const batch = await runAllToolTests(toRun, join(request.runDir, "all-tools"), request, request.settings.testTimeoutMs, request.signal);
  const failing = batch.filter((result) => !result.ok);
  if (failing.length === 0) for (const tool of toRun) recordPass(repoDir, keys.get(tool.name), tool.name);
  const fromRecords = [
    recorded.length > 0 ? `; ${recorded.length} of them as this gate recorded them passing with the same files and code` : "",
    validated.length > 0 ? `; ${validated.length} as the toolsmith's recorded validation of the same files ran them` : "",
  ].join("");
  const reason =
    failing.length === 0
      ? `${judged.length} tool(s) pass: ${judged.map((tool) => `${tool.name} (tests from ${tool.testsFrom})`).join(", ")}${fromRecords}`
      : `failing: ${failing.map((result) => `${result.name} (${result.detail})`).join(", ")}`;
  return toolsCheck("every tool's tests (main's tests for main's tools)", failing.length === 0, reason, request.started, {
    tools: judged.length,
    ran: toRun.map((tool) => tool.name),
    recorded: recorded.map((tool) => tool.name),
    ...(validated.length > 0 ? { validated: validated.map((tool) => tool.name) } : {}),
    failing: failing.map((result) => result.name),
  });
}

function toolsCheck(name: string, ok: boolean, reason: string, started: number, figures?: FitnessCheck["figures"]): FitnessCheck {
  return { stage: "tools", name, ok, reason, durationMs: performance.now() - started, ...(figures ? { figures } : {}) };
}

/**
 * The code running the gate, told once (undefined when it cannot be, or changed on disk since the process began: then no
 * record is used or made).
 */
export function judgingCode(): string | undefined {
  try {
    return codeIdentity(undefined, { unchangedSince: performance.timeOrigin });
  } catch {
    return undefined;
  }
}

/** `.org/fitness/tool-tests/<key>.json`: a tool's tests passed in this stage, signed with the gate key. */
const TOOL_TESTS_DIR = join(FITNESS_DIR, "tool-tests");
const TOOL_TESTS_KEPT = 1024;
const TestsPassed = z.strictObject({ version: z.literal(1), key: z.string(), tool: z.string(), passedAt: z.string() });

/**
 * What a tool's tests in this stage depend on, hashed per tool: the code running them (`codeIdentity`: this stage,
 * the sandbox, the bun and its preload), the tool's code, the test file run, the time limit. Empty without the code's
 * identity: then every tool's tests run.
 */
function toolTestKeys(tools: JudgedTool[], timeoutMs: number, code: string | undefined): Map<string, string> {
  if (code === undefined) return new Map();
  return new Map(
    tools.map((tool) => [
      tool.name,
      sha256Hex(canonicalJson({ version: 1, stage: "tool-tests", code, tool: sha256Hex(tool.toolCode), tests: sha256Hex(tool.testCode), timeoutMs })),
    ]),
  );
}

const hasPassRecord = (repoDir: string, key: string | undefined) =>
  key !== undefined && readSignedRecord(repoDir, TOOL_TESTS_DIR, key, TestsPassed) !== undefined;

/** Records that a tool's tests passed here; a checkout where that cannot be written runs them again next time. */
function recordPass(repoDir: string, key: string | undefined, tool: string): void {
  if (key === undefined) return;
  try {
    writeSignedRecord(repoDir, TOOL_TESTS_DIR, key, { version: 1, key, tool, passedAt: new Date().toISOString() }, TOOL_TESTS_KEPT);
  } catch {}
}

/** Runs each tool's tests in its own bun process, two at a time, all inside one sandbox without network. */
async function runAllToolTests(
  tools: JudgedTool[],
  dir: string,
  access: SandboxAccess,
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
  const script =
    `cd /org/tools && ls -d * | xargs -P 2 -I{} /bin/sh -c 'cd /org/tools/{} && timeout -s KILL ` +
    `${seconds} ${SANDBOX_BUN} test --preload ${SANDBOX_TOOL_SOURCE_PRELOAD} ./tool.test.ts < ./tool.ts >/scratch/{}.log 2>&1; echo "{} $?"'`;
  const result = await access.sandbox.run({
    policy: access.sandboxPolicy,
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
  for (const [, name, code] of result.stdout.matchAll(/^([a-z][a-z0-9_]{1,47}) (\d+)$/gm)) if (name !== undefined) codes.set(name, Number(code));
  return tools.map((tool) => {
    const code = codes.get(tool.name);
    if (code === 0) return { name: tool.name, ok: true, detail: "pass" };
    return { name: tool.name, ok: false, detail: code === undefined ? "did not run" : code === 137 ? `killed after ${seconds} s` : `exit ${code}` };
  });
}
