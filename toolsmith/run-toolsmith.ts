import { join } from "node:path";
import { z } from "zod";
import { ChatError } from "../llm/chat-errors.ts";
import type { ChatMessage } from "../llm/chat-types.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { generatedToolPath, TOOLSMITH_WORK_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { landCandidate } from "../git/candidate-branch.ts";
import { oneLine } from "../security/terminal-sanitizer.ts";
import { RepoGit } from "../git/repo-git.ts";
import { DEFAULT_LIMITS } from "../sandbox/sandbox-limits.ts";
import { removeAbandonedRuns } from "./abandoned-runs.ts";
import { callPhase, PhaseFailedError } from "./phase-call.ts";
import type { LanguageModel } from "../llm/language-model.ts";
import { describeRecordedModel } from "../llm/recorded-model.ts";
import { readSubmittedSource } from "./submitted-source.ts";
import { type FailingInput, implementationPrompt, PHASE_TOOL_DESCRIPTIONS, specPrompt, testsPrompt } from "./phase-prompts.ts";
import { type LiveCandidateNames, takenToolNames } from "../generated-tools/tool-catalog.ts";
import {
  type Phase,
  type PhaseProvenance,
  sha256Hex,
  type ToolExample,
  type ToolMetadata,
  type ToolSpec,
  type ValidationStage,
  toolMetadataSchemas,
} from "../generated-tools/tool-metadata.ts";
import { ToolsmithSettings, type ToolsmithSettingsInput } from "../config/toolsmith-settings.ts";
import type { ValidationFailure } from "./stage-order.ts";
import { splitExamples } from "./split-examples.ts";
import { type ValidatedInput, type ValidationReport, validateTool } from "./validate-tool.ts";
import { randomHex } from "../concurrency/random-hex.ts";
import { counted } from "../config/counted.ts";

/** Progress of a toolsmith run, phase by phase, for the console, the room and `--json`. */
export type ToolsmithEvent =
  | { type: "phase-start"; phase: Phase; round: number }
  | { type: "phase-done"; phase: Phase; round: number; detail: string }
  | { type: "validation-stage"; stage: ValidationStage; index: number; total: number; round: number }
  | { type: "validation-failed"; stage: ValidationStage; blame: "implementation" | "tests"; round: number; message: string }
  | { type: "validation-passed"; round: number; durationMs: number }
  | { type: "branch-created"; branch: string; commit: string };

/** How a run ended: a branch, or a plain statement of what failed. */
export type ToolsmithOutcome =
  | {
      ok: true;
      name: string;
      branch: string;
      commit: string;
      attempts: number /** The spec's first example's input, for a try-it command. */;
      tryInput: unknown;
    }
  | { ok: false; name?: string; attempts: number; failure: string };

/**
 * The gate's signed records as the toolsmith uses them, handed in by whoever starts a build (`toolsmithRecords` of
 * fitness/toolsmith-records.ts: the gate sits above the toolsmith, whose checks it runs): which live candidates hold a
 * tool's name, and where a passed validation is recorded for the gate to take.
 */
export type ToolsmithRecords = {
  liveNames: LiveCandidateNames;
  recordValidation: (repoDir: string, input: ValidatedInput, report: ValidationReport) => boolean;
};

/**
 * What `runToolsmith` is asked to build, with which model, where; its validation runs in `sandbox` under
 * `sandboxPolicy`, and it refuses to run when that policy turns the sandbox off.
 */
export type ToolsmithRequest = SandboxAccess & {
  goal: string;
  records: ToolsmithRecords;
  /** A rebuild: inputs the tool it replaces failed on, told as data beside the goal (never as part of it). */
  failingInputs?: readonly FailingInput[];
  /** The model every phase asks; in the room it holds its server's request slot only during a call. */
  model: LanguageModel;
  /** The model a phase asks instead, when the config routes it (`models.byPurpose["toolsmith.code"]`, …); `model` else. */
  routePhase?: ((phase: Phase, model: LanguageModel) => LanguageModel) | undefined;
  repoDir: string;
  settings?: ToolsmithSettingsInput;
  signal?: AbortSignal;
  onEvent?: (event: ToolsmithEvent) => void;
  now?: () => Date;
};

/** One run as its parts share it: the request, its settings and repo, and the provenance gathered so far. */
type ToolsmithRun = Omit<ToolsmithRequest, "settings" | "onEvent"> & {
  settings: ToolsmithSettings;
  emit: (event: ToolsmithEvent) => void;
  git: RepoGit;
  startedAt: string;
  phases: PhaseProvenance[];
  attempts: number;
  name?: string;
};

/** The code under validation, and how many repair rounds each phase has had. */
type Draft = { toolCode: string; testCode: string; implementationRepairs: number; testRepairs: number };

/**
 * The toolsmith: goal → `submit_spec` → `submit_implementation` → `submit_tests` → validation in the sandbox,
 * with repair rounds (failures back to the implementation, weak tests back to the tests) → a `cand/<ts>` branch.
 * Model and validation failures are outcomes; only a cancelled run or a broken sandbox throws.
 */
export async function runToolsmith(request: ToolsmithRequest): Promise<ToolsmithOutcome> {
  const { settings: given, onEvent, ...rest } = request;
  const settings = ToolsmithSettings.parse(given ?? {});
  if (!request.sandboxPolicy.enabled) {
    return {
      ok: false,
      attempts: 0,
      failure: "the toolsmith validates tools only in the sandbox, and ORG_SANDBOX=off turned it off; unset ORG_SANDBOX",
    };
  }
  const git = new RepoGit(request.repoDir);
  removeAbandonedRuns(git.repoDir);
  const run: ToolsmithRun = {
    ...rest,
    settings,
    emit: onEvent ?? (() => {}),
    git,
    startedAt: new Date().toISOString(),
    phases: [],
    attempts: 0,
  };
  try {
    const spec = await askForSpec(run);
    const { visible, heldOut } = splitExamples(spec, run.settings.heldOutShare);
    const toolCode = await askForSource(run, "implementation", 1, implementationPrompt(run.goal, spec, visible, undefined, run.failingInputs));
    const testCode = await askForSource(run, "tests", 1, testsPrompt(run.goal, spec, visible, toolCode));
    return await validateAndRepair(run, spec, { visible, heldOut }, { toolCode, testCode, implementationRepairs: 0, testRepairs: 0 });
  } catch (error) {
    if (error instanceof PhaseFailedError) return { ok: false, name: run.name, attempts: run.attempts + error.attempts, failure: error.message };
    if (error instanceof ChatError && error.kind !== "aborted")
      return { ok: false, name: run.name, attempts: run.attempts, failure: `the model server failed: ${error.message}` };
    throw error;
  }
}

/** Records a phase's provenance and model calls in the run. */
function track<T extends { provenance: PhaseProvenance }>(run: ToolsmithRun, result: T): T {
  run.phases.push(result.provenance);
  run.attempts += result.provenance.attempts;
  return result;
}

/** The spec phase: a valid spec with a name nobody holds and examples that fit its schemas. */
async function askForSpec(run: ToolsmithRun): Promise<ToolSpec> {
  const taken = await takenToolNames(run.git, run.records.liveNames, run.signal);
  run.emit({ type: "phase-start", phase: "spec", round: 1 });
  const spec = track(
    run,
    await callPhase({
      phase: "spec",
      model: run.routePhase?.("spec", run.model) ?? run.model,
      tool: { name: "submit_spec", description: PHASE_TOOL_DESCRIPTIONS.submit_spec, parameters: toolMetadataSchemas().ToolSpec },
      messages: specPrompt(run.goal, [...taken].sort(), run.failingInputs),
      retries: run.settings.argumentRetries,
      check: (value) => specProblem(value, taken),
      signal: run.signal,
    }),
  ).value;
  run.name = spec.name;
  run.emit({ type: "phase-done", phase: "spec", round: 1, detail: `${spec.name}: ${spec.examples.length} examples` });
  return spec;
}

/** The implementation or tests phase: one TypeScript source, with the habits of small models undone. */
async function askForSource(run: ToolsmithRun, phase: "implementation" | "tests", round: number, messages: ChatMessage[]): Promise<string> {
  const tool = phase === "implementation" ? "submit_implementation" : "submit_tests";
  run.emit({ type: "phase-start", phase, round });
  const result = track(
    run,
    await callPhase({
      phase,
      model: run.routePhase?.(phase, run.model) ?? run.model,
      tool: { name: tool, description: PHASE_TOOL_DESCRIPTIONS[tool], parameters: toolMetadataSchemas().SourceSubmission },
      messages,
      retries: run.settings.argumentRetries,
      adjust: ({ code }) => {
        const read = readSubmittedSource(code, phase === "implementation" ? "tool.ts" : "tool.test.ts");
        return read.ok ? { value: { code: read.code }, notes: read.habits } : read;
      },
      signal: run.signal,
    }),
  );
  const undone = result.notes.length ? ` (taken out of ${result.notes.join(", ")})` : "";
  run.emit({ type: "phase-done", phase, round, detail: `${counted(result.value.code.split("\n").length, "line")}${undone}` });
  return result.value.code;
}

/** Validates the draft, repairing it while rounds are left, until it lands on a branch or the run gives up. */
async function validateAndRepair(
  run: ToolsmithRun,
  spec: ToolSpec,
  examples: { visible: ToolExample[]; heldOut: ToolExample[] },
  first: Draft,
): Promise<ToolsmithOutcome> {
  const runDir = join(ensurePrivateDir(join(run.git.repoDir, TOOLSMITH_WORK_DIR)), `run-${process.pid}-${randomHex(4)}`);
  let draft = first;
  for (let round = 1; ; round += 1) {
    const started = performance.now();
    const validated = { spec, heldOut: examples.heldOut, toolCode: draft.toolCode, testCode: draft.testCode, settings: run.settings };
    const report = await validateTool({
      runDir,
      ...validated,
      sandbox: run.sandbox,
      sandboxPolicy: run.sandboxPolicy,
      signal: run.signal,
      onStage: (event) => run.emit({ type: "validation-stage", ...event, round }),
    });
    if (report.ok) {
      run.emit({ type: "validation-passed", round, durationMs: Math.round(performance.now() - started) });
      // The gate takes this signed record for its own run of the same validation on the same files and code.
      run.records.recordValidation(run.git.repoDir, validated, report);
      return landTool(run, spec, draft, report);
    }
    const failure = report.failure;
    if (!failure) throw new Error("validation failed without saying why");
    run.emit({ type: "validation-failed", stage: failure.stage, blame: failure.blame, round, message: failure.message.split("\n")[0] ?? "" });
    const next = nextRepair(failure, draft, run.settings);
    if (next.kind === "give-up") return { ok: false, name: run.name, attempts: run.attempts, failure: `${spec.name} failed ${next.failure}` };
    draft = await repair(run, spec, examples.visible, draft, next.kind, failure.message);
  }
}

/** What follows a failed validation: a repair of the phase to blame while it has rounds left, else the end. */
export function nextRepair(
  failure: ValidationFailure,
  draft: Pick<Draft, "implementationRepairs" | "testRepairs">,
  settings: Pick<ToolsmithSettings, "implementationRepairs" | "testRepairs">,
): { kind: "tests" | "implementation" } | { kind: "give-up"; failure: string } {
  if (failure.blame === "tests" && draft.testRepairs < settings.testRepairs) return { kind: "tests" };
  if (failure.blame === "implementation" && draft.implementationRepairs < settings.implementationRepairs) return { kind: "implementation" };
  const rounds =
    failure.blame === "tests"
      ? `${draft.testRepairs} tests repair round${draft.testRepairs === 1 ? "" : "s"}`
      : `${draft.implementationRepairs} repair round${draft.implementationRepairs === 1 ? "" : "s"}`;
  return { kind: "give-up", failure: `the ${failure.stage} stage after ${rounds}: ${oneLine(failure.message, 400)}` };
}

/** One repair round: the tests rewritten against the same tool, or the tool rewritten against the same tests. */
async function repair(
  run: ToolsmithRun,
  spec: ToolSpec,
  visible: ToolExample[],
  draft: Draft,
  phase: "tests" | "implementation",
  failure: string,
): Promise<Draft> {
  if (phase === "tests") {
    const testRepairs = draft.testRepairs + 1;
    const messages = testsPrompt(run.goal, spec, visible, draft.toolCode, { tests: draft.testCode, failure });
    return { ...draft, testRepairs, testCode: await askForSource(run, "tests", testRepairs + 1, messages) };
  }
  const implementationRepairs = draft.implementationRepairs + 1;
  const messages = implementationPrompt(run.goal, spec, visible, { code: draft.toolCode, failure }, run.failingInputs);
  return { ...draft, implementationRepairs, toolCode: await askForSource(run, "implementation", implementationRepairs + 1, messages) };
}

/** Writes the validated tool and its metadata onto a new `cand/<ts>` branch made from main. */
async function landTool(run: ToolsmithRun, spec: ToolSpec, draft: Draft, report: ValidationReport): Promise<ToolsmithOutcome> {
  const metadata = buildMetadata({
    spec,
    toolCode: draft.toolCode,
    testCode: draft.testCode,
    report,
    settings: run.settings,
    phases: run.phases,
    attempts: run.attempts,
    startedAt: run.startedAt,
    repairRounds: draft.implementationRepairs + draft.testRepairs,
    orgCommit: (await run.git.resolveCommit("HEAD")) ?? null,
  });
  const landed = await landCandidate(
    run.git,
    {
      files: {
        [generatedToolPath(spec.name, "tool.ts")]: draft.toolCode,
        [generatedToolPath(spec.name, "tool.test.ts")]: draft.testCode,
        [generatedToolPath(spec.name, "metadata.json")]: `${JSON.stringify(metadata, null, 2)}\n`,
      },
      subject: `feat(tools): generated tool ${spec.name}`,
      body: oneLine(spec.description, 500),
      trailers: trailersOf(metadata),
    },
    { now: run.now, signal: run.signal },
  );
  run.emit({ type: "branch-created", branch: landed.branch, commit: landed.commit });
  return { ok: true, name: spec.name, branch: landed.branch, commit: landed.commit, attempts: run.attempts, tryInput: spec.examples[0]?.input ?? {} };
}

/** Why a valid spec is still refused: a taken name, or examples that do not fit its own schemas. */
function specProblem(spec: ToolSpec, taken: ReadonlySet<string>): string | undefined {
  if (taken.has(spec.name)) return `the name ${spec.name} is taken; choose another name.`;
  const input = z.fromJSONSchema(spec.input_schema);
  const output = z.fromJSONSchema(spec.output_schema);
  for (const [index, example] of spec.examples.entries()) {
    const inputCheck = input.safeParse(example.input);
    if (!inputCheck.success) return `examples.${index}.input does not match input_schema: ${inputCheck.error.issues[0]?.message}.`;
    const outputCheck = output.safeParse(example.output);
    if (!outputCheck.success) return `examples.${index}.output does not match output_schema: ${outputCheck.error.issues[0]?.message}.`;
  }
  if (spec.examples.length < 2) return "give at least 2 examples.";
  return undefined;
}

function buildMetadata(parts: {
  spec: ToolSpec;
  toolCode: string;
  testCode: string;
  report: ValidationReport;
  settings: ToolsmithSettings;
  phases: PhaseProvenance[];
  attempts: number;
  startedAt: string;
  repairRounds: number;
  orgCommit: string | null;
}): ToolMetadata {
  const { report, settings } = parts;
  return {
    version: 1,
    spec: parts.spec,
    files: { "tool.ts": sha256Hex(parts.toolCode), "tool.test.ts": sha256Hex(parts.testCode) },
    validation: {
      stages: report.stages,
      tests: report.tests,
      coverage: { lines: report.coverage, threshold: settings.coverage },
      mutants: { ...report.mutants, threshold: settings.mutationScore },
      heldOutExamples: report.heldOutExamples,
      determinismRuns: report.determinismRuns,
    },
    sandbox: { network: false, capabilities: parts.spec.capabilities, timeoutMs: settings.toolTimeoutMs, memoryBytes: DEFAULT_LIMITS.memoryBytes },
    provenance: {
      phases: parts.phases,
      attempts: parts.attempts,
      repairRounds: parts.repairRounds,
      startedAt: parts.startedAt,
      finishedAt: new Date().toISOString(),
      orgCommit: parts.orgCommit,
    },
  };
}

/** The provenance of metadata.json as commit trailers. */
function trailersOf(metadata: ToolMetadata): Record<string, string> {
  const trailers: Record<string, string> = { "Org-Tool": metadata.spec.name };
  for (const phase of metadata.provenance.phases) {
    const key = phase.phase[0]?.toUpperCase() + phase.phase.slice(1);
    const add = (name: string, value: string) => {
      trailers[name] = trailers[name] ? `${trailers[name]}; ${value}` : value;
    };
    add(`Org-${key}-Model`, describeRecordedModel(phase));
    add(`Org-${key}-Prompts`, phase.promptSha256.map((hash) => hash.slice(0, 16)).join(" "));
  }
  trailers["Org-Attempts"] = String(metadata.provenance.attempts);
  trailers["Org-Repair-Rounds"] = String(metadata.provenance.repairRounds);
  trailers["Org-Validation"] = metadata.validation.stages.map((stage) => `${stage.stage} ${stage.durationMs}ms`).join(", ");
  trailers["Org-Tool-Sha256"] = metadata.files["tool.ts"];
  trailers["Org-Tests-Sha256"] = metadata.files["tool.test.ts"];
  trailers["Org-Commit"] = metadata.provenance.orgCommit ?? "unknown";
  trailers["Org-Started"] = metadata.provenance.startedAt;
  return trailers;
}
