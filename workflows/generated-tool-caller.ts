import { existsSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR, GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { changedFileProblem, runPromotedTool, runToolCopy } from "../generated-tools/promoted-tools.ts";
import { type PromotedToolRead, readPromotedTool, verifiedToolCode } from "../generated-tools/read-promoted-tool.ts";
import type { ToolAtRef } from "../generated-tools/tool-catalog.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { ToolCaller } from "./run-workflow.ts";

/** Where a workflow's tools are looked up, first match first: the workspace's, then org's own checkout's. */
export const toolRootsFor = (workspaceDir: string, checkoutDir: string = CHECKOUT_DIR): string[] => [...new Set([workspaceDir, checkoutDir])];

/**
 * Promoted generated tools for workflows, from `tools/generated/` of the first of `roots` that has the tool: `checkTool` says why a name cannot be
 * used (no such
 * folder, metadata that does not validate, a file whose hash is not the recorded one); `callTool` runs one
 * the way `tool run` does (a fresh copy, checked again, in the sandbox), with the tool's own timeout.
 */
export function generatedToolCaller(
  options: SandboxAccess & {
    roots: readonly string[];
    scratchDir: string;
    /** A candidate branch's tools (`workflow run --ref`), used before the roots' for the names they have; run from copies under `repoDir`. */
    branch?: { tools: ReadonlyMap<string, ToolAtRef>; repoDir: string };
  },
): { checkTool(name: string): string | undefined; callTool: ToolCaller } {
  const cache = new Map<string, PromotedToolRead>();
  const access = { sandbox: options.sandbox, sandboxPolicy: options.sandboxPolicy };
  const branchTool = (name: string) => options.branch?.tools.get(name);
  const load = (name: string): PromotedToolRead => {
    const cached = cache.get(name);
    if (cached) return cached;
    const root = options.roots.find((candidate) => existsSync(join(candidate, GENERATED_TOOLS_DIR, name))) ?? options.roots[0];
    if (root === undefined) return { ok: false, problem: `no folder to read the generated tool ${name} from: the caller was given no tool roots` };
    const loaded = readPromotedTool(root, name);
    cache.set(name, loaded);
    return loaded;
  };
  return {
    checkTool: (name) => {
      const fromBranch = branchTool(name);
      if (fromBranch) return fromBranch.ok ? undefined : fromBranch.problem;
      const loaded = load(name);
      if (!loaded.ok) return loaded.problem;
      const verified = verifiedToolCode(loaded.tool);
      return verified.ok ? undefined : changedFileProblem(name, verified.file);
    },
    callTool: async (name, input, signal) => {
      const fromBranch = branchTool(name);
      if (fromBranch && options.branch) {
        if (!fromBranch.ok) return { ok: false, reason: "tool", error: fromBranch.problem, durationMs: 0 };
        const { code, metadata } = fromBranch;
        return runToolCopy({
          repoDir: options.branch.repoDir,
          code,
          metadata,
          input,
          scratchDir: options.scratchDir,
          ...(signal ? { signal } : {}),
          ...access,
        });
      }
      const loaded = load(name);
      if (!loaded.ok) return { ok: false, reason: "tool", error: loaded.problem, durationMs: 0 };
      return runPromotedTool(loaded.tool, { input, scratchDir: options.scratchDir, ...(signal ? { signal } : {}), ...access });
    },
  };
}
