import { existsSync, lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR, GENERATED_TOOLS_DIR } from "../config/tool-names.ts";
import { parseToolMetadata, sha256Hex, TOOL_NAME_PATTERN, type ToolMetadata } from "../toolsmith/tool-metadata.ts";
import { runGeneratedTool } from "../tools/run-generated-tool.ts";
import type { ToolCaller } from "./run-workflow.ts";

type Loaded = { ok: true; directory: string; metadata: ToolMetadata } | { ok: false; problem: string };

/** Where a workflow's tools are looked up, first match first: the workspace's, then org's own checkout's. */
export const toolRootsFor = (workspaceDir: string): string[] => [...new Set([workspaceDir, CHECKOUT_DIR])];

/**
 * Promoted generated tools for workflows, from `tools/generated/` of the first of `roots` that has the tool: `checkTool` says why a name cannot be used (no such
 * folder, metadata that does not validate, a tool.ts whose hash is not the recorded one); `callTool` runs one
 * through the sandboxed runner `tool run` uses, with the tool's own timeout.
 */
export function generatedToolCaller(options: { roots: readonly string[]; scratchDir: string }): { checkTool(name: string): string | undefined; callTool: ToolCaller } {
  const cache = new Map<string, Loaded>();
  const load = (name: string): Loaded => {
    const cached = cache.get(name);
    if (cached) return cached;
    const root = options.roots.find((candidate) => existsSync(join(candidate, GENERATED_TOOLS_DIR, name))) ?? (options.roots[0] as string);
    const loaded = loadTool(root, name);
    cache.set(name, loaded);
    return loaded;
  };
  return {
    checkTool: (name) => {
      const loaded = load(name);
      return loaded.ok ? undefined : loaded.problem;
    },
    callTool: async (name, input, signal) => {
      const loaded = load(name);
      if (!loaded.ok) return { ok: false, reason: "tool", error: loaded.problem, durationMs: 0 };
      return runGeneratedTool({
        toolDir: loaded.directory,
        inputSchema: loaded.metadata.spec.input_schema,
        outputSchema: loaded.metadata.spec.output_schema,
        input,
        scratchDir: options.scratchDir,
        timeoutMs: loaded.metadata.sandbox.timeoutMs,
        ...(signal ? { signal } : {}),
      });
    },
  };
}

function loadTool(repoDir: string, name: string): Loaded {
  if (!TOOL_NAME_PATTERN.test(name)) return { ok: false, problem: `${JSON.stringify(name)} is not a generated tool's name` };
  const directory = join(repoDir, GENERATED_TOOLS_DIR, name);
  const where = join(GENERATED_TOOLS_DIR, name);
  try {
    if (!lstatSync(directory).isDirectory()) return { ok: false, problem: `${where} is not a folder` };
  } catch {
    return { ok: false, problem: `there is no promoted tool "${name}" (no ${where}/); 'org tool search' finds tools by what they do` };
  }
  try {
    const metadata = parseToolMetadata(readFileSync(join(directory, "metadata.json"), "utf8"), join(where, "metadata.json"));
    if (metadata.spec.name !== name) return { ok: false, problem: `${where}/metadata.json names ${metadata.spec.name}, not ${name}` };
    if (sha256Hex(readFileSync(join(directory, "tool.ts"))) !== metadata.files["tool.ts"]) {
      return { ok: false, problem: `${where}/tool.ts is not the file its metadata.json records (sha256 differs); it will not run` };
    }
    return { ok: true, directory, metadata };
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
}
