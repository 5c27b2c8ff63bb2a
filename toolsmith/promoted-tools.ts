import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { type AnyTool, defineTool, type JsonValue } from "../tools/define-tool.ts";
import { runGeneratedTool } from "../tools/run-generated-tool.ts";
import { parseToolMetadata, sha256Hex, TOOL_NAME_PATTERN, type ToolMetadata } from "./tool-metadata.ts";

const GENERATED_DIR = join("tools", "generated");

/** A promoted tool whose files still match the hashes its metadata recorded at validation. */
export type PromotedTool = { name: string; directory: string; metadata: ToolMetadata };

function filesMatch(directory: string, metadata: ToolMetadata): boolean {
  const hash = (file: string) => sha256Hex(readFileSync(join(directory, file)));
  return hash("tool.ts") === metadata.files["tool.ts"] && hash("tool.test.ts") === metadata.files["tool.test.ts"];
}

/**
 * The generated tools promoted into `<repoDir>/tools/generated/`: real folders with a tool's name, metadata that
 * fits its schema and names that folder, files that match their recorded hashes. Anything else is skipped and
 * reported through `onSkip`.
 */
export function promotedToolsIn(repoDir: string, onSkip: (name: string, problem: string) => void = () => {}): PromotedTool[] {
  const root = join(repoDir, GENERATED_DIR);
  if (!existsSync(root)) return [];
  const found: PromotedTool[] = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !TOOL_NAME_PATTERN.test(entry.name)) continue;
    const directory = join(root, entry.name);
    try {
      const metadata = parseToolMetadata(readFileSync(join(directory, "metadata.json"), "utf8"), join(GENERATED_DIR, entry.name, "metadata.json"));
      if (metadata.spec.name !== entry.name) throw new Error(`its metadata names ${metadata.spec.name}`);
      if (!filesMatch(directory, metadata)) throw new Error("its files do not match the hashes recorded at validation");
      found.push({ name: entry.name, directory, metadata });
    } catch (error) {
      onSkip(entry.name, error instanceof Error ? error.message : String(error));
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A promoted tool as a tool personas can call: its input schema is the parameters, and every call runs the
 * fixed runner in a fresh sandbox (no network, the tool's folder read-only, the session's scratch). The output
 * is checked against the output schema and redacted; a failure is a result the model can read.
 */
export function promotedToolAsTool(tool: PromotedTool): AnyTool {
  const { spec } = tool.metadata;
  return defineTool(spec.name, {
    description: `${spec.description} (a generated tool, run in the sandbox)`,
    parameters: z.fromJSONSchema(spec.input_schema),
    // Its code was validated, but its input comes from a model: a hop runs it under the stricter policy.
    runsCode: true,
    async execute(args, context) {
      if (!filesMatch(tool.directory, tool.metadata)) {
        return { ok: false, output: `Error: ${spec.name}'s files changed after validation; it will not run. Tell the user.` };
      }
      const result = await runGeneratedTool({
        toolDir: tool.directory,
        inputSchema: spec.input_schema,
        outputSchema: spec.output_schema,
        input: args,
        scratchDir: scratchDirFor(context),
        timeoutMs: tool.metadata.sandbox.timeoutMs,
        signal: context.signal,
      });
      if (!result.ok) return { ok: false, output: `Error: ${spec.name} failed (${result.reason}): ${result.error}` };
      return { ok: true, output: JSON.stringify(result.output), data: result.output as JsonValue };
    },
  });
}

/** Adds every promoted tool to agent personas' policies as `ask`, unless their config already names it. */
export function offerToAgents<Persona extends { kind: string; tools: Record<string, string> }>(personas: Persona[], names: readonly string[]): Persona[] {
  return personas.map((persona) =>
    persona.kind === "agent" ? { ...persona, tools: { ...Object.fromEntries(names.map((name) => [name, "ask"])), ...persona.tools } } : persona,
  );
}
