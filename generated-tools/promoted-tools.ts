import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { generatedToolFolders } from "../config/tool-names.ts";
import { GENERATED_TOOLS_DIR, linkedFolderProblem, TOOLSMITH_WORK_DIR } from "../config/workspace-paths.ts";
import { ensurePrivateDir } from "../security/private-state.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { defineTool, type JsonValue, type Tool } from "../tools/define-tool.ts";
import { recordToolCall } from "../usage/tool-calls.ts";
import { type GeneratedToolRun, runGeneratedTool } from "./run-generated-tool.ts";
import type { ToolMetadata } from "./tool-metadata.ts";

// The one reader of promoted tools (`tools/generated/<name>/` of a workspace or checkout): chat, serve, workflows,
// `tool list/show/run` all load, hash-check and run them through here. Reading and hash-checking one is
// read-promoted-tool.ts (which `tool list` loads without the runner).
import { type PromotedTool, readPromotedTool, verifiedToolCode } from "./read-promoted-tool.ts";
import { randomHex } from "../concurrency/random-hex.ts";

/**
 * The generated tools promoted into `<repoDir>/tools/generated/`: real folders with a tool's name, metadata that
 * fits its schema and names that folder, files that match their recorded hashes, reached through real folders only.
 * Anything else is skipped and reported through `onSkip`.
 */
export function promotedToolsIn(repoDir: string, onSkip: (name: string, problem: string) => void = () => {}): PromotedTool[] {
  const found: PromotedTool[] = [];
  const folders = generatedToolFolders(repoDir);
  if (folders.linked !== undefined) onSkip(GENERATED_TOOLS_DIR, linkedFolderProblem(GENERATED_TOOLS_DIR, folders.linked));
  for (const name of folders.names) {
    const read = readPromotedTool(repoDir, name);
    if (!read.ok) onSkip(name, read.problem);
    else if (!verifiedToolCode(read.tool).ok) onSkip(name, "its files do not match the hashes recorded at validation");
    else found.push(read.tool);
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Runs a generated tool's code (already checked against its metadata) from a fresh copy: only tool.ts, in a new
 * folder under `<repoDir>/.org/toolsmith/`, read-only in the sandbox, so a change to the tool's own folder
 * after the check cannot reach the run. The folder is removed afterwards (`removeAbandonedRuns` if killed).
 * Every run passes here (room, serve, MCP, workflows, `tool run`), so here each is recorded under
 * `<repoDir>/.org/usage/` (usage/tool-calls.ts).
 */
export async function runToolCopy(
  options: SandboxAccess & {
    repoDir: string;
    code: string;
    metadata: ToolMetadata;
    input: unknown;
    /** Default: a fresh folder beside the copy, removed with it. */
    scratchDir?: string;
    signal?: AbortSignal;
  },
): Promise<GeneratedToolRun> {
  const started = performance.now();
  const result = await runCopy(options);
  recordToolCall(options.repoDir, {
    tool: options.metadata.spec.name,
    version: options.metadata.files["tool.ts"],
    ok: result.ok,
    durationMs: performance.now() - started,
    ...(result.ok ? {} : { reason: result.reason, input: options.input, error: result.error }),
  });
  return result;
}

async function runCopy(options: Parameters<typeof runToolCopy>[0]): Promise<GeneratedToolRun> {
  const runDir = join(ensurePrivateDir(join(options.repoDir, TOOLSMITH_WORK_DIR)), `tool-run-${process.pid}-${randomHex(4)}`);
  try {
    const toolDir = join(runDir, "tool");
    mkdirSync(toolDir, { recursive: true, mode: 0o755 });
    writeFileSync(join(toolDir, "tool.ts"), options.code);
    return await runGeneratedTool({
      toolDir,
      inputSchema: options.metadata.spec.input_schema,
      outputSchema: options.metadata.spec.output_schema,
      input: options.input,
      scratchDir: options.scratchDir ?? join(runDir, "scratch"),
      timeoutMs: options.metadata.sandbox.timeoutMs,
      sandbox: options.sandbox,
      sandboxPolicy: options.sandboxPolicy,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

/** Why a promoted tool will not run when `verifiedToolCode` found `file` changed. */
export function changedFileProblem(name: string, file: "tool.ts" | "tool.test.ts"): string {
  return `${join(GENERATED_TOOLS_DIR, name, file)} is not the file its metadata.json records (sha256 differs); it will not run`;
}

/** Runs a promoted tool after checking its files' hashes again, from a fresh copy (see `runToolCopy`). */
export async function runPromotedTool(
  tool: PromotedTool,
  options: SandboxAccess & { input: unknown; scratchDir: string; signal?: AbortSignal },
): Promise<GeneratedToolRun> {
  const verified = verifiedToolCode(tool);
  if (!verified.ok) return { ok: false, reason: "tool", error: changedFileProblem(tool.name, verified.file), durationMs: 0 };
  return runToolCopy({ repoDir: tool.root, code: verified.code, metadata: tool.metadata, ...options });
}

/**
 * A promoted tool as a tool personas can call: its input schema is the parameters, and every call runs the
 * fixed runner in a fresh sandbox (no network, a fresh copy of the tool read-only, the session's scratch). The output
 * is checked against the output schema and redacted; a failure is a result the model can read.
 */
export function promotedToolAsTool(tool: PromotedTool): Tool {
  const { spec } = tool.metadata;
  return defineTool(spec.name, {
    description: `${spec.description} (a generated tool, run in the sandbox)`,
    parameters: z.fromJSONSchema(spec.input_schema),
    // Its code was validated, but its input comes from a model: a hop runs it under the stricter policy.
    runsCode: true,
    async execute(args, context) {
      if (!verifiedToolCode(tool).ok) {
        return { ok: false, output: `Error: ${spec.name}'s files changed after validation; it will not run. Tell the user.` };
      }
      const result = await runPromotedTool(tool, {
        input: args,
        scratchDir: scratchDirFor(context),
        signal: context.signal,
        sandbox: context.sandbox,
        sandboxPolicy: context.sandboxPolicy,
      });
      if (!result.ok) return { ok: false, output: `Error: ${spec.name} failed (${result.reason}): ${result.error}` };
      return { ok: true, output: JSON.stringify(result.output), data: result.output as JsonValue };
    },
  });
}

/** Adds every promoted tool to agent personas' policies as `ask`, unless their config already names it. */
export function offerToAgents<Persona extends { kind: string; tools: Record<string, string> }>(
  personas: Persona[],
  names: readonly string[],
): Persona[] {
  return personas.map((persona) =>
    persona.kind === "agent" ? { ...persona, tools: { ...Object.fromEntries(names.map((name) => [name, "ask"])), ...persona.tools } } : persona,
  );
}
