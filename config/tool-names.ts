import { type Dirent, readdirSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR, GENERATED_TOOLS_DIR, TOOL_NAME_PATTERN } from "./workspace-paths.ts";
import { linkOnTheWay } from "./link-on-the-way.ts";

// config/org-config.ts names the folder in its refusals through this module.
export { GENERATED_TOOLS_DIR };

/** The tools org has built in; a persona's `tools` may name these and promoted generated tools. */
export const BUILTIN_TOOL_NAMES = [
  "sh",
  "python_run",
  "chat_mode",
  "workflow_run",
  "plan_workflow",
  "memory_search",
  "memory_save",
  "web_fetch",
  "web_request",
  "send_file",
  "browser",
] as const;

/**
 * Policies a persona's `tools` may set that are not tools a model calls: `workspace_write` decides the changes its
 * commands make to the workspace (`sandbox.workspace: "write"`).
 */
/** The policy's name, as a persona's `tools` and `serve.tools` write it. */
export const WORKSPACE_WRITE = "workspace_write";
export const POLICY_ONLY_TOOL_NAMES = [WORKSPACE_WRITE] as const;

/** What a persona's `tools` may name without a generated tool: the built-in tools and the policy-only names. */
export const BUILTIN_POLICY_NAMES: readonly string[] = [...BUILTIN_TOOL_NAMES, ...POLICY_ONLY_TOOL_NAMES];

/**
 * The one list of names a generated tool may not take: the built-in tools, the tools the room adds on its own
 * (`find_tool` for a large catalogue, `build_tool` for the toolsmith) and the toolsmith's phase tools. The config's
 * check and the toolsmith's name check both read it; a generated folder with one of these names is never offered.
 */
export const RESERVED_TOOL_NAMES: readonly string[] = [
  ...BUILTIN_POLICY_NAMES,
  "find_tool",
  "build_tool",
  "submit_spec",
  "submit_implementation",
  "submit_tests",
  "submit_workflow",
];

/**
 * The folders under `<root>/tools/generated/`: `names` are real directories with a tool's name (sorted), `others`
 * the directories whose name is not one. A symlink is not followed: a tool's folder is a real directory, and so are
 * `tools/` and `tools/generated/` (when one is a link, `linked` names it and there are no folders).
 */
export function generatedToolFolders(root: string): { names: string[]; others: string[]; linked?: string } {
  const linked = linkOnTheWay(root, GENERATED_TOOLS_DIR);
  if (linked !== undefined) return { names: [], others: [], linked };
  let entries: Dirent[];
  try {
    entries = readdirSync(join(root, GENERATED_TOOLS_DIR), { withFileTypes: true });
  } catch {
    return { names: [], others: [] }; // no tools/generated/ there
  }
  const folders = entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  return { names: folders.filter((name) => TOOL_NAME_PATTERN.test(name)).sort(), others: folders.filter((name) => !TOOL_NAME_PATTERN.test(name)) };
}

/** Names of the generated tools under `<root>/tools/generated/<name>/` for each root: real folders with a tool's name. */
export function generatedToolNames(roots: readonly string[]): string[] {
  return [...new Set(roots.flatMap((root) => generatedToolFolders(root).names))].sort();
}

/** Every tool name a config may give a persona: the built-in ones, then the generated ones in the workspace or the checkout. */
export function knownToolNames(workspaceDir: string, checkoutDir: string = CHECKOUT_DIR): string[] {
  const generated = generatedToolNames([workspaceDir, checkoutDir]).filter((name) => !RESERVED_TOOL_NAMES.includes(name));
  return [...BUILTIN_POLICY_NAMES, ...generated];
}
