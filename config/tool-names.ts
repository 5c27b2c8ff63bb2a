import { type Dirent, readdirSync } from "node:fs";
import { join } from "node:path";

/** The tools org has built in; a persona's `tools` may name these and promoted generated tools. */
export const BUILTIN_TOOL_NAMES = ["sh", "python_run", "chat_mode", "workflow_run"] as const;

/** A generated tool's name, and so its folder's: snake_case, 2–48 characters. */
export const GENERATED_TOOL_NAME = /^[a-z][a-z0-9_]{1,47}$/;

/** Where promoted generated tools live, one folder each, under a workspace or org's checkout. */
export const GENERATED_TOOLS_DIR = join("tools", "generated");

/** The checkout org runs from. */
export const CHECKOUT_DIR = join(import.meta.dir, "..");

/** Names of the generated tools under `<root>/tools/generated/<name>/` for each root: real folders with a tool's name. */
export function generatedToolNames(roots: readonly string[]): string[] {
  const names = new Set<string>();
  for (const root of roots) {
    let entries: Dirent[];
    try {
      entries = readdirSync(join(root, GENERATED_TOOLS_DIR), { withFileTypes: true });
    } catch {
      continue; // no tools/generated/ there
    }
    // A symlink is not followed: a tool's folder is a real directory.
    for (const entry of entries) if (entry.isDirectory() && GENERATED_TOOL_NAME.test(entry.name)) names.add(entry.name);
  }
  return [...names].sort();
}

/** Every tool name a config may give a persona: the built-in ones, then the generated ones in the workspace or the checkout. */
export function knownToolNames(workspaceDir: string): string[] {
  const generated = generatedToolNames([workspaceDir, CHECKOUT_DIR]).filter((name) => !(BUILTIN_TOOL_NAMES as readonly string[]).includes(name));
  return [...BUILTIN_TOOL_NAMES, ...generated];
}
