import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CANDIDATE_BRANCH_PATTERN } from "../git/candidate-branch.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { pythonRun } from "../tools/python-run.ts";
import { sh } from "../tools/sh.ts";
import { parseToolMetadata, TOOL_NAME_PATTERN, type ToolMetadata } from "./tool-metadata.ts";

/** Names of org's own tools; a generated tool may not take one. */
export const BUILT_IN_TOOL_NAMES: readonly string[] = [sh.name, pythonRun.name, "chat_mode", "submit_spec", "submit_implementation", "submit_tests"];

export const GENERATED_DIR = join("tools", "generated");

/** A generated tool org knows of: promoted (in the checkout) or a candidate (on a `cand/*` branch). */
export type CatalogEntry =
  | { status: "promoted"; name: string; metadata: ToolMetadata; directory: string }
  | { status: "candidate"; name: string; metadata: ToolMetadata; branch: string; commit: string }
  | { status: "broken"; name: string; where: string; problem: string };

/** The promoted tools: folders under tools/generated/ of the checkout, metadata validated. */
export function promotedTools(repoDir: string): CatalogEntry[] {
  const root = join(repoDir, GENERATED_DIR);
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && TOOL_NAME_PATTERN.test(entry.name))
    .map((entry): CatalogEntry => {
      const directory = join(root, entry.name);
      const where = join(GENERATED_DIR, entry.name, "metadata.json");
      try {
        const metadata = parseToolMetadata(readFileSync(join(directory, "metadata.json"), "utf8"), where);
        if (metadata.spec.name !== entry.name) throw new Error(`${where}: names ${metadata.spec.name}, not ${entry.name}`);
        return { status: "promoted", name: entry.name, metadata, directory };
      } catch (error) {
        return { status: "broken", name: entry.name, where, problem: error instanceof Error ? error.message : String(error) };
      }
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The candidate tools: every `cand/*` branch's new tools/generated/ folders, read with git, nothing checked out. */
export async function candidateTools(git: RepoGit, signal?: AbortSignal): Promise<CatalogEntry[]> {
  const refs = await git.run(["for-each-ref", "--format=%(refname:short) %(objectname)", "refs/heads/cand/"], { signal });
  const entries: CatalogEntry[] = [];
  const onMain = new Set((await git.run(["ls-tree", "--name-only", `refs/heads/main:${GENERATED_DIR}`], { signal }).catch(() => "")).split("\n"));
  for (const line of refs.split("\n")) {
    const [branch, commit] = line.trim().split(" ");
    if (!branch || !commit || !CANDIDATE_BRANCH_PATTERN.test(branch)) continue;
    const listing = await git.run(["ls-tree", "--name-only", `${commit}:${GENERATED_DIR}`], { signal }).catch(() => "");
    for (const name of listing.split("\n").filter((entry) => TOOL_NAME_PATTERN.test(entry))) {
      if (onMain.has(name)) continue;
      const where = `${branch}:${GENERATED_DIR}/${name}/metadata.json`;
      try {
        const text = await git.run(["show", `${commit}:${GENERATED_DIR}/${name}/metadata.json`], { signal });
        entries.push({ status: "candidate", name, metadata: parseToolMetadata(text, where), branch, commit });
      } catch (error) {
        entries.push({ status: "broken", name, where, problem: error instanceof Error ? error.message : String(error) });
      }
    }
  }
  return entries;
}

/** Reads one file of a generated tool at a ref (no checkout). */
export function readToolFileAt(git: RepoGit, ref: string, name: string, file: "tool.ts" | "tool.test.ts" | "metadata.json", signal?: AbortSignal): Promise<string> {
  return git.run(["show", `${ref}:${GENERATED_DIR}/${name}/${file}`], { signal });
}
