import { lstatSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_TOOLS_DIR, linkedFolderProblem, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import { linkOnTheWay } from "../config/link-on-the-way.ts";
import { readSandboxFile, SandboxFileError } from "../sandbox/read-sandbox-file.ts";
import { MAX_METADATA_BYTES, parseToolMetadata, sha256Hex, type ToolMetadata } from "./tool-metadata.ts";

// Reading one promoted tool (`tools/generated/<name>/`) and checking its files against its metadata: what listing,
// showing and running a promoted tool all start with. It needs neither the runner nor the sandbox.

/** A promoted tool whose metadata validated and names its folder; `root` is the workspace or checkout it is in. */
export type PromotedTool = { name: string; root: string; directory: string; metadata: ToolMetadata };

/** A promoted tool read from `<root>/tools/generated/<name>/`, or why it cannot be used (a message for a person or a model). */
export type PromotedToolRead = { ok: true; tool: PromotedTool } | { ok: false; problem: string };

/**
 * Reads `<root>/tools/generated/<name>/`: a real folder with a tool's name, a metadata.json no larger than
 * MAX_METADATA_BYTES that fits its schema and names that folder. The files' hashes are checked by `verifiedToolCode`.
 */
export function readPromotedTool(root: string, name: string): PromotedToolRead {
  if (!TOOL_NAME_PATTERN.test(name)) return { ok: false, problem: `${JSON.stringify(name)} is not a generated tool's name` };
  const where = join(GENERATED_TOOLS_DIR, name);
  const directory = join(root, where);
  const linked = linkOnTheWay(root, GENERATED_TOOLS_DIR);
  if (linked !== undefined) return { ok: false, problem: linkedFolderProblem(GENERATED_TOOLS_DIR, linked) };
  try {
    if (!lstatSync(directory).isDirectory()) return { ok: false, problem: `${where} is not a folder` };
  } catch {
    return { ok: false, problem: `there is no promoted tool "${name}" (no ${where}/); 'org tool search' finds tools by what they do` };
  }
  try {
    // From the root one folder at a time, following no link, not blocking on a FIFO, bounded: the folder may come from
    // anyone's clone, and `tools/` may have become a link since it was looked at.
    const bytes = readSandboxFile(root, join(where, "metadata.json"), MAX_METADATA_BYTES);
    if (!bytes) return { ok: false, problem: `${where}/metadata.json is missing` };
    const metadata = parseToolMetadata(bytes.toString("utf8"), join(where, "metadata.json"));
    if (metadata.spec.name !== name) return { ok: false, problem: `${where}/metadata.json names ${metadata.spec.name}, not ${name}` };
    return { ok: true, tool: { name, root, directory, metadata } };
  } catch (error) {
    if (error instanceof SandboxFileError) return { ok: false, problem: error.message };
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
}

// tool.ts and tool.test.ts are at most 100 000 characters when submitted (SourceSubmission): 4 bytes each at most.
const MAX_SOURCE_BYTES = 400_000;

/** The tool's code when tool.ts and tool.test.ts still have the hashes recorded at validation; else the first file that differs (or is gone). */
export function verifiedToolCode(tool: PromotedTool): { ok: true; code: string } | { ok: false; file: "tool.ts" | "tool.test.ts" } {
  const read = (file: "tool.ts" | "tool.test.ts") => {
    try {
      return readSandboxFile(tool.root, join(GENERATED_TOOLS_DIR, tool.name, file), MAX_SOURCE_BYTES);
    } catch {
      return undefined;
    }
  };
  const code = read("tool.ts");
  if (!code || sha256Hex(code) !== tool.metadata.files["tool.ts"]) return { ok: false, file: "tool.ts" };
  const tests = read("tool.test.ts");
  if (!tests || sha256Hex(tests) !== tool.metadata.files["tool.test.ts"]) return { ok: false, file: "tool.test.ts" };
  return { ok: true, code: code.toString("utf8") };
}
