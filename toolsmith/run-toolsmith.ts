import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { z } from "zod";
import { ChatError } from "../llm/chat-errors.ts";
import type { ChatMessage } from "../llm/chat-types.ts";
import { environmentSettings } from "../config/environment.ts";
import { generatedToolPath, TOOLSMITH_WORK_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import { landCandidate, oneLine } from "../git/candidate-branch.ts";
import { RepoGit } from "../git/repo-git.ts";
import { DEFAULT_LIMITS } from "../sandbox/sandbox-limits.ts";
import { removeAbandonedRuns } from "./abandoned-runs.ts";
import { callPhase, type ModelEndpoint, type ModelSlot, PhaseFailedError } from "./phase-call.ts";
import { readSubmittedSource } from "./submitted-source.ts";
import { implementationPrompt, PHASE_TOOL_DESCRIPTIONS, specPrompt, testsPrompt } from "./phase-prompts.ts";
import { takenToolNames } from "../generated-tools/tool-catalog.ts";
import {
  type Phase,
  type PhaseProvenance,
  SourceSubmission,
  sha256Hex,
  type ToolMetadata,
  ToolSpec,
  type ValidationStage,
} from "../generated-tools/tool-metadata.ts";
import { ToolsmithSettings, type ToolsmithSettingsInput } from "../config/toolsmith-settings.ts";
import { type ValidationReport, validateTool } from "./validate-tool.ts";

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
 * The toolsmith: goal → `submit_spec` → `submit_implementation` → `submit_tests` → validation in the sandbox,
 * with repair rounds (failures back to the implementation, weak tests back to the tests) → a `cand/<ts>` branch.
 * Model and validation failures are outcomes; only a cancelled run or a broken sandbox throws.
 */
export async function runToolsmith(request: {
  goal: string;
  endpoint: ModelEndpoint;
  repoDir: string;
  settings?: ToolsmithSettingsInput;
  signal?: AbortSignal;
  onEvent?: (event: ToolsmithEvent) => void;
  /** Held around each model call, so other personas can use the server while validation runs. */
  slot?: ModelSlot;
  now?: () => Date;
}): Promise<ToolsmithOutcome> {
  const settings = ToolsmithSettings.parse(request.settings ?? {});
  const emit = request.onEvent ?? (() => {});
  const { goal, endpoint, signal } = request;
  if (environmentSettings().sandboxDisabled) {
    return { ok: false, attempts: 0, failure: "the toolsmith validates tools only in the sandbox, and ORG_SANDBOX=off turned it off; unset ORG_SANDBOX" };
  }
  const git = new RepoGit(request.repoDir);
  removeAbandonedRuns(git.repoDir);
  const startedAt = new Date().toISOString();
  const phases: PhaseProvenance[] = [];
  let attempts = 0;
  let name: string | undefined;
  const track = <T extends { provenance: PhaseProvenance }>(result: T): T => {
    phases.push(result.provenance);
    attempts += result.provenance.attempts;
    return result;
  };

  try {
    const taken = await takenToolNames(git, signal);

    emit({ type: "phase-start", phase: "spec", round: 1 });
    const spec = track(
      await callPhase({
        phase: "spec",
        endpoint,
        tool: { name: "submit_spec", description: PHASE_TOOL_DESCRIPTIONS.submit_spec, parameters: ToolSpec },
        messages: specPrompt(goal, [...taken].sort()),
        retries: settings.argumentRetries,
        slot: request.slot,
        check: (value) => specProblem(value, taken),
        signal,
      }),
    ).value;
    name = spec.name;
    emit({ type: "phase-done", phase: "spec", round: 1, detail: `${spec.name}: ${spec.examples.length} examples` });

    const heldOutCount = Math.min(spec.examples.length - 1, Math.max(1, Math.round(spec.examples.length * settings.heldOutShare)));
    const visible = spec.examples.slice(0, spec.examples.length - heldOutCount);
    const heldOut = spec.examples.slice(spec.examples.length - heldOutCount);

    // The implementation and tests phases each submit one TypeScript source.
    const submitSource = async (phase: "implementation" | "tests", round: number, messages: ChatMessage[]) => {
      const tool = phase === "implementation" ? "submit_implementation" : "submit_tests";
      emit({ type: "phase-start", phase, round });
      const result = track(
        await callPhase({
          phase,
          endpoint,
          tool: { name: tool, description: PHASE_TOOL_DESCRIPTIONS[tool], parameters: SourceSubmission },
          messages,
          retries: settings.argumentRetries,
          slot: request.slot,
          adjust: ({ code }) => {
            const read = readSubmittedSource(code, phase === "implementation" ? "tool.ts" : "tool.test.ts");
            return read.ok ? { value: { code: read.code }, notes: read.habits } : read;
          },
          signal,
        }),
      );
      const undone = result.notes.length ? ` (taken out of ${result.notes.join(", ")})` : "";
      emit({ type: "phase-done", phase, round, detail: `${result.value.code.split("\n").length} lines${undone}` });
      return result.value.code;
    };
    const implement = (round: number, repair?: { code: string; failure: string }) =>
      submitSource("implementation", round, implementationPrompt(goal, spec, visible, repair));
    const writeTests = (round: number, code: string, repair?: { tests: string; failure: string }) =>
      submitSource("tests", round, testsPrompt(goal, spec, visible, code, repair));

    let toolCode = await implement(1);
    let testCode = await writeTests(1, toolCode);
    let implementationRepairs = 0;
    let testRepairs = 0;
    const runDir = join(ensurePrivateDir(join(git.repoDir, TOOLSMITH_WORK_DIR)), `run-${process.pid}-${randomBytes(4).toString("hex")}`);
    for (let round = 1; ; round += 1) {
      const started = performance.now();
      const report = await validateTool({
        runDir,
        spec,
        heldOut,
        toolCode,
        testCode,
        settings,
        signal,
        onStage: (event) => emit({ type: "validation-stage", ...event, round }),
      });
      if (report.ok) {
        emit({ type: "validation-passed", round, durationMs: Math.round(performance.now() - started) });
        const metadata = buildMetadata({
          spec,
          toolCode,
          testCode,
          report,
          settings,
          phases,
          attempts,
          startedAt,
          repairRounds: implementationRepairs + testRepairs,
          orgCommit: (await git.resolveCommit("HEAD")) ?? null,
        });
        const landed = await landCandidate(
          git,
          {
            files: {
              [generatedToolPath(spec.name, "tool.ts")]: toolCode,
              [generatedToolPath(spec.name, "tool.test.ts")]: testCode,
              [generatedToolPath(spec.name, "metadata.json")]: `${JSON.stringify(metadata, null, 2)}\n`,
            },
            subject: `feat(tools): generated tool ${spec.name}`,
            body: oneLine(spec.description, 500),
            trailers: trailersOf(metadata),
          },
          { now: request.now, signal },
        );
        emit({ type: "branch-created", branch: landed.branch, commit: landed.commit });
        return { ok: true, name: spec.name, branch: landed.branch, commit: landed.commit, attempts, tryInput: spec.examples[0]?.input ?? {} };
      }
      const failure = report.failure;
      if (!failure) throw new Error("validation failed without saying why");
      emit({ type: "validation-failed", stage: failure.stage, blame: failure.blame, round, message: failure.message.split("\n")[0] ?? "" });
      if (failure.blame === "tests" && testRepairs < settings.testRepairs) {
        testRepairs += 1;
        testCode = await writeTests(testRepairs + 1, toolCode, { tests: testCode, failure: failure.message });
      } else if (failure.blame === "implementation" && implementationRepairs < settings.implementationRepairs) {
        implementationRepairs += 1;
        toolCode = await implement(implementationRepairs + 1, { code: toolCode, failure: failure.message });
      } else {
        const rounds =
          failure.blame === "tests"
            ? `${testRepairs} tests repair round${testRepairs === 1 ? "" : "s"}`
            : `${implementationRepairs} repair round${implementationRepairs === 1 ? "" : "s"}`;
        return { ok: false, name, attempts, failure: `${spec.name} failed the ${failure.stage} stage after ${rounds}: ${oneLine(failure.message, 400)}` };
      }
    }
  } catch (error) {
    if (error instanceof PhaseFailedError) return { ok: false, name, attempts: attempts + error.attempts, failure: error.message };
    if (error instanceof ChatError && error.kind !== "aborted") return { ok: false, name, attempts, failure: `the model server failed: ${error.message}` };
    throw error;
  }
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
    add(`Org-${key}-Model`, `${phase.model} at ${phase.baseUrl}`);
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
