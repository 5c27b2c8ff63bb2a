import { generatedToolFolders } from "../config/tool-names.ts";
import { generatedToolPath } from "../config/workspace-paths.ts";
import { readPromotedTool } from "./read-promoted-tool.ts";
import type { ToolMetadata } from "./tool-metadata.ts";

// The catalogue's entry, and the promoted tools as entries: read without git, so `tool list` of a checkout with no
// candidate loads no git library (tool-catalog.ts reads the candidates).

/** A generated tool org knows of: promoted (in the checkout) or a candidate (on a `cand/*` branch). */
export type CatalogEntry =
  | { status: "promoted"; name: string; metadata: ToolMetadata; directory: string }
  | { status: "candidate"; name: string; metadata: ToolMetadata; branch: string; commit: string }
  | { status: "broken"; name: string; where: string; problem: string };

/** The promoted tools: folders under tools/generated/ of the checkout, metadata validated. */
export function promotedTools(repoDir: string): CatalogEntry[] {
  return generatedToolFolders(repoDir)
    .names.map((name): CatalogEntry => {
      const read = readPromotedTool(repoDir, name);
      if (read.ok) return { status: "promoted", name, metadata: read.tool.metadata, directory: read.tool.directory };
      return { status: "broken", name, where: generatedToolPath(name, "metadata.json"), problem: read.problem };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}
