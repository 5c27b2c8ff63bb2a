import { RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import { GENERATED_TOOLS_DIR, type GeneratedToolFile, generatedToolPath, TOOL_NAME_PATTERN } from "../config/workspace-paths.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { type CatalogEntry, promotedTools } from "./catalog-entry.ts";
import { MAX_METADATA_BYTES, parseToolMetadata, sha256Hex, type ToolMetadata } from "./tool-metadata.ts";
import { MAIN_REF } from "../git/ref-names.ts";

/**
 * Tool name → the newest live candidate branch (untested, pass or stale) that adds it. Which candidates are live is
 * the gate's verdict, read from its signed reports above this folder: callers hand in `liveCandidateToolNames`
 * (fitness/candidate-states.ts).
 */
export type LiveCandidateNames = (git: RepoGit, signal?: AbortSignal) => Promise<ReadonlyMap<string, string>>;

/** One `tools/generated/<name>/metadata.json` on a candidate branch, as `git ls-tree` lists it (not read yet). */
export type CandidateMetadataFile = { branch: string; commit: string; name: string; path: string; blob: string; size: number };

/**
 * Every `cand/*` branch's `tools/generated/<name>/metadata.json` (regular files only), listed through git without
 * touching the checkout; only branches named `cand/YYYYMMDDTHHMMSSZ`, objects named by id. Other branches are noticed.
 */
export async function candidateMetadataFiles(git: RepoGit, signal?: AbortSignal): Promise<{ files: CandidateMetadataFile[]; notices: string[] }> {
  const { refs, strays } = await git.candidateRefs(signal);
  const files: CandidateMetadataFile[] = [];
  const notices = strays.map((branch) => `skipped branch ${JSON.stringify(branch)}: not a candidate branch name (cand/YYYYMMDDTHHMMSSZ)`);
  for (const { branch, commit } of refs) {
    for (const { mode, type, id: blob, size, path } of await git.treeEntries(commit, {
      recursive: true,
      sizes: true,
      paths: [`${GENERATED_TOOLS_DIR}/`],
      signal,
    })) {
      const name = path.split("/")[2] ?? "";
      if (path !== generatedToolPath(name, "metadata.json") || !TOOL_NAME_PATTERN.test(name)) continue;
      if (mode !== "100644" || type !== "blob") continue;
      files.push({ branch, commit, name, path, blob, size: size ?? 0 });
    }
  }
  return { files, notices };
}

/**
 * The candidate tools: the tools live candidates add (untested, pass or stale: `liveNames`), each
 * once, from the newest branch that adds it; not those on main, nor those of promoted, rolled-back or failed
 * candidates. Metadata validated, nothing checked out. This is what holds a name besides main.
 */
export async function candidateTools(git: RepoGit, liveNames: LiveCandidateNames, signal?: AbortSignal): Promise<CatalogEntry[]> {
  const onMain = new Set((await git.treeEntries(`${MAIN_REF}:${GENERATED_TOOLS_DIR}`, { signal }).catch(() => [])).map((entry) => entry.path));
  const live = await liveNames(git, signal);
  const entries: CatalogEntry[] = [];
  for (const { branch, commit, name, path, blob, size } of (await candidateMetadataFiles(git, signal)).files) {
    if (onMain.has(name) || live.get(name) !== branch) continue;
    const where = `${branch}:${path}`;
    try {
      if (size > MAX_METADATA_BYTES) throw new Error(`${where}: ${size} bytes, more than the ${MAX_METADATA_BYTES} a metadata.json may have`);
      const text = await git.readBlob(blob, signal);
      entries.push({ status: "candidate", name, metadata: parseToolMetadata(text, where), branch, commit });
    } catch (error) {
      entries.push({ status: "broken", name, where, problem: error instanceof Error ? error.message : String(error) });
    }
  }
  return entries;
}

/** Every name a new generated tool may not take: the reserved names, main's tools and the live candidates' tools. */
export async function takenToolNames(git: RepoGit, liveNames: LiveCandidateNames, signal?: AbortSignal): Promise<Set<string>> {
  const promoted = promotedTools(git.repoDir).map((entry) => entry.name);
  const candidates = (await candidateTools(git, liveNames, signal)).map((entry) => entry.name);
  return new Set([...RESERVED_TOOL_NAMES, ...promoted, ...candidates]);
}

/** Reads one file of a generated tool at a ref (no checkout). */
export function readToolFileAt(git: RepoGit, ref: string, name: string, file: GeneratedToolFile, signal?: AbortSignal): Promise<string> {
  return git.readBlob(`${ref}:${generatedToolPath(name, file)}`, signal);
}

/** A generated tool read from a branch: its code and validated metadata, files checked against the recorded hashes. */
export type ToolAtRef = { ok: true; code: string; metadata: ToolMetadata } | { ok: false; problem: string };

/** Reads `tools/generated/<name>/` at `ref` through git (no checkout) and checks it the way a promoted tool is checked. */
export async function readToolAt(git: RepoGit, ref: string, name: string, signal?: AbortSignal): Promise<ToolAtRef> {
  let files: { tool: string; tests: string; metadata: string };
  try {
    const read = (file: GeneratedToolFile) => readToolFileAt(git, ref, name, file, signal);
    files = { tool: await read("tool.ts"), tests: await read("tool.test.ts"), metadata: await read("metadata.json") };
  } catch {
    return { ok: false, problem: `no tool ${name} on ${ref}` };
  }
  const where = `${ref}:${generatedToolPath(name, "metadata.json")}`;
  let metadata: ToolMetadata;
  try {
    metadata = parseToolMetadata(files.metadata, where);
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
  if (metadata.spec.name !== name) return { ok: false, problem: `${where} describes ${metadata.spec.name}, not ${name}` };
  if (sha256Hex(files.tool) !== metadata.files["tool.ts"] || sha256Hex(files.tests) !== metadata.files["tool.test.ts"]) {
    return { ok: false, problem: `${name}: its files do not match the hashes in ${where}; it was changed after validation and will not run` };
  }
  return { ok: true, code: files.tool, metadata };
}

/** Every generated tool on `ref` (its own versions, main's included), each read and checked; names in order. */
export async function toolsAtRef(git: RepoGit, ref: string, signal?: AbortSignal): Promise<Map<string, ToolAtRef>> {
  const listing = await git.treeEntries(`${ref}:${GENERATED_TOOLS_DIR}`, { signal }).catch(() => []);
  const tools = new Map<string, ToolAtRef>();
  for (const name of listing
    .map((entry) => entry.path)
    .filter((name) => TOOL_NAME_PATTERN.test(name))
    .sort())
    tools.set(name, await readToolAt(git, ref, name, signal));
  return tools;
}
