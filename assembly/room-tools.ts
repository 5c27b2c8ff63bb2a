import type { OrgConfig } from "../config/org-config.ts";
import { RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import { memorySaveTool } from "../memory/memory-save-tool.ts";
import { memorySearchTool } from "../memory/memory-search-tool.ts";
import type { MemoryStore } from "../memory/memory-store.ts";
import type { Embedder } from "../registry/ollama-embedder.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import { pythonRun } from "../tools/python-run.ts";
import { sh } from "../tools/sh.ts";
import { webFetchTool } from "../tools/web-fetch.ts";
import { browserTool } from "../tools/browser.ts";
import { type FileOutlet, sendFileTool } from "../tools/send-file.ts";
import { webRequestTool } from "../tools/web-request.ts";
import { promotedToolAsTool, promotedToolsIn } from "../generated-tools/promoted-tools.ts";
import { workflowRunTool } from "../workflows/workflow-run-tool.ts";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { plannerModel } from "../personas/persona-model.ts";
import { planWorkflowTool } from "../planner/plan-workflow-tool.ts";
import type { McpStepTools } from "../workflows/mcp-steps.ts";

/** A generated tool folder that is not offered, and why. */
export type ToolProblem = { name: string; problem: string };

/** A promoted tool offered to the room, and the workspace or checkout it was read from. */
export type GeneratedRoomTool = { tool: AnyTool; root: string };

/**
 * The built-in tools every room offers (chat, serve, demo): memory's only when the workspace has a memory, send_file only
 * where a chat follows the sessions (`fileOutlet`); workflow
 * steps may call the room's MCP servers' tools (`mcp`) set to "allow", and the promoted tools of the workspace and then of
 * `checkoutDir` (org's own checkout by default).
 */
export function builtInTools(options: {
  config: OrgConfig;
  memory?: MemoryStore;
  embedder?: Embedder;
  mcp?: McpStepTools;
  checkoutDir?: string;
  /** Where send_file delivers (a Telegram chat per session); without it the room has no send_file. */
  fileOutlet?: FileOutlet;
}): AnyTool[] {
  const { memory } = options;
  const memoryTools = memory ? [memorySearchTool(memory, options.embedder), memorySaveTool(memory)] : [];
  return [
    sh,
    pythonRun,
    workflowRunTool({
      ...(options.mcp ? { mcp: options.mcp } : {}),
      ...(options.checkoutDir ? { checkoutDir: options.checkoutDir } : {}),
      maxStepRuns: options.config.limits.workflowStepRuns,
    }),
    webFetchTool({ network: options.config.network }),
    webRequestTool({ web: options.config.web }),
    browserTool({ settings: options.config.browser }),
    planWorkflowTool({
      config: options.config,
      model: plannerModel(options.config),
      checkoutDir: options.checkoutDir ?? CHECKOUT_DIR,
      ...(options.embedder ? { embedder: options.embedder } : {}),
    }),
    ...memoryTools,
    ...(options.fileOutlet ? [sendFileTool(options.fileOutlet)] : []),
  ];
}

/**
 * The promoted tools of each root (the workspace first, then org's checkout, as workflows read them). A tool
 * with a reserved name (config/tool-names.ts) is refused, never offered in its place; a name a root before it has is skipped.
 */
export function promotedRoomTools(
  roots: readonly string[],
  reserved: Iterable<string> = [],
): { generated: GeneratedRoomTool[]; problems: ToolProblem[] } {
  const refused = new Set([...RESERVED_TOOL_NAMES, ...reserved]);
  const generated: GeneratedRoomTool[] = [];
  const problems: ToolProblem[] = [];
  const taken = new Set<string>();
  for (const root of new Set(roots)) {
    for (const tool of promotedToolsIn(root, (name, problem) => problems.push({ name, problem }))) {
      if (refused.has(tool.name))
        problems.push({ name: tool.name, problem: "a reserved tool name (a built-in, or one the room or the toolsmith adds); it is not offered" });
      else if (!taken.has(tool.name)) {
        taken.add(tool.name);
        generated.push({ tool: promotedToolAsTool(tool), root });
      }
    }
  }
  return { generated, problems };
}
