import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { scratchDirFor } from "../sandbox/scratch-dir.ts";
import { parseToolMetadata, sha256Hex, TOOL_NAME_PATTERN, type ToolMetadata } from "../toolsmith/tool-metadata.ts";
import { type AnyTool, defineTool } from "../tools/define-tool.ts";
import { runGeneratedTool } from "../tools/run-generated-tool.ts";

/** The promoted tools of a checkout, ready to run, and the folders that could not be offered (with why). */
export type GeneratedToolSet = { tools: AnyTool[]; problems: { name: string; problem: string }[] };

/**
 * Reads `tools/generated/<name>/` of a checkout: each folder whose metadata.json validates and whose files
 * match its hashes becomes a tool that runs only through the sandboxed runner. Nothing is imported here.
 */
export function loadGeneratedTools(checkoutDir: string, reserved: ReadonlySet<string>): GeneratedToolSet {
  const root = join(checkoutDir, "tools", "generated");
  const set: GeneratedToolSet = { tools: [], problems: [] };
  if (!existsSync(root)) return set;
  for (const name of readdirSync(root).sort()) {
    const directory = join(root, name);
    try {
      const entry = lstatSync(directory);
      if (entry.isSymbolicLink()) throw new Error("a symlink, not a folder; generated tools are plain folders");
      if (!entry.isDirectory()) continue;
      if (!TOOL_NAME_PATTERN.test(name)) throw new Error("the folder name is not a tool name (snake_case)");
      if (reserved.has(name)) throw new Error("a built-in tool has this name");
      const metadata = readMetadata(directory, name);
      set.tools.push(generatedTool(directory, metadata));
    } catch (error) {
      set.problems.push({ name, problem: error instanceof Error ? error.message : String(error) });
    }
  }
  return set;
}

function readMetadata(directory: string, name: string): ToolMetadata {
  const where = `tools/generated/${name}/metadata.json`;
  const metadata = parseToolMetadata(readRegularFile(join(directory, "metadata.json")).toString("utf8"), where);
  if (metadata.spec.name !== name) throw new Error(`${where} names the tool ${metadata.spec.name}, not ${name}`);
  for (const file of ["tool.ts", "tool.test.ts"] as const) {
    if (sha256Hex(readRegularFile(join(directory, file))) !== metadata.files[file]) {
      throw new Error(`${file} does not match the hash in metadata.json; it was changed after validation`);
    }
  }
  return metadata;
}

function readRegularFile(path: string): Buffer {
  if (!lstatSync(path).isFile()) throw new Error(`${path.split("/").slice(-1)[0]} is not a regular file`);
  return readFileSync(path);
}

function generatedTool(directory: string, metadata: ToolMetadata): AnyTool {
  const { spec } = metadata;
  return defineTool(spec.name, {
    description: spec.description,
    parameters: z.fromJSONSchema(spec.input_schema),
    runsCode: true,
    async execute(input, context) {
      const run = await runGeneratedTool({
        toolDir: directory,
        inputSchema: spec.input_schema,
        outputSchema: spec.output_schema,
        input,
        scratchDir: scratchDirFor(context),
        timeoutMs: metadata.sandbox.timeoutMs,
        signal: context.signal,
      });
      return run.ok ? { ok: true, output: JSON.stringify(run.output) } : { ok: false, output: `Error: ${spec.name} failed (${run.reason}): ${run.error}` };
    },
  });
}
