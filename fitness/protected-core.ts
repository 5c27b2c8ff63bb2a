import { GENERATED_TOOLS_DIR, isWorkflowFilePath, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { FitnessCheck } from "./fitness-report.ts";

/** The largest file a candidate may add under tools/generated/. */
export const MAX_TOOL_FILE_BYTES = 256 * 1024;
const TOOL_FILE = new RegExp(`^${GENERATED_TOOLS_DIR}/${TOOL_NAME_PATTERN.source.slice(1, -1)}/[A-Za-z0-9_.-]{1,64}$`);

/**
 * Stage a: the diff from the merge base may only add or change regular, non-executable files of at most
 * 256 KiB inside `tools/generated/<tool>/`, and `workflows/<name>.json` files (JSON that runs generated tools in the
 * sandbox, judged by its examples in the scenarios stage). Everything else (deletions, symlinks, submodules, executables,
 * other paths) is named. `allowCore` (given on current's side, never read from the candidate) lets a reviewed
 * change outside the folder through; it is reported as allowed.
 */
export async function checkProtectedCore(
  git: RepoGit,
  base: string,
  commit: string,
  options: { allowCore: boolean; signal?: AbortSignal },
): Promise<FitnessCheck> {
  const started = performance.now();
  const changes = await git.changes(base, commit, { signal: options.signal });
  // A blob git does not have has no size, so it is refused.
  const sizes = await git.blobSizes(
    changes.filter((change) => change.newMode === "100644" && change.status !== "D").map((change) => change.newId),
    options.signal,
  );
  const refused: string[] = [];
  const allowed: string[] = [];
  for (const change of changes) {
    const workflow = isWorkflowFilePath(change.path);
    const inFolder = workflow || (TOOL_FILE.test(change.path) && !change.path.split("/").includes(".."));
    let problem: string | undefined;
    if (!inFolder) problem = change.status === "D" ? "is deleted, outside tools/generated/" : "is outside tools/generated/<tool>/";
    else if (change.status === "D") problem = workflow ? "deletes a workflow" : "deletes a generated tool's file";
    else if (change.newMode === "120000") problem = "is a symlink";
    else if (change.newMode === "160000") problem = "is a submodule";
    else if (change.newMode === "100755") problem = "is executable";
    else if (change.newMode !== "100644") problem = `has mode ${change.newMode}`;
    else {
      const size = sizes.get(change.newId);
      if (size === undefined) problem = "has a blob this repository cannot read";
      else if (size > MAX_TOOL_FILE_BYTES) problem = `is ${size} bytes (limit ${MAX_TOOL_FILE_BYTES})`;
    }
    if (!problem) continue;
    const line = `${JSON.stringify(change.path)} ${problem}`;
    // The flag covers reviewed changes outside the folder only; a tool's folder is held to its rules always.
    if (options.allowCore && !inFolder) allowed.push(line);
    else refused.push(line);
  }
  const durationMs = performance.now() - started;
  const figures = { changedFiles: changes.length, refused: refused.length, allowedByFlag: allowed.length };
  if (changes.length === 0)
    return { stage: "protected-core", name: "protected core", ok: false, reason: "the candidate changes nothing", figures, durationMs };
  if (refused.length > 0) {
    return {
      stage: "protected-core",
      name: "protected core",
      ok: false,
      reason:
        `only regular files under tools/generated/<tool>/ and workflows/<name>.json may change: ` +
        `${refused.slice(0, 20).join("; ")}${refused.length > 20 ? ` and ${refused.length - 20} more` : ""}`,
      figures,
      durationMs,
    };
  }
  const workflows = changes.filter((change) => isWorkflowFilePath(change.path)).length;
  const where = workflows > 0 ? `under tools/generated/ or workflows/ (${workflows} workflow(s))` : "under tools/generated/";
  const reason = allowed.length > 0 ? `allowed by --allow-core: ${allowed.slice(0, 20).join("; ")}` : `${changes.length} file(s), all ${where}`;
  return { stage: "protected-core", name: "protected core", ok: true, reason, figures, durationMs };
}
