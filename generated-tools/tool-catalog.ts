import { RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import {
  GENERATED_TOOL_FILES,
  GENERATED_TOOLS_DIR,
  type GeneratedToolFile,
  generatedToolPath,
  TOOL_NAME_PATTERN,
} from "../config/workspace-paths.ts";
import type { RepoGit } from "../git/repo-git.ts";
import type { TreeEntry } from "../git/tree-entry.ts";
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
export async function candidateMetadataFiles(
  git: RepoGit,
  signal?: AbortSignal,
  /** Only these branches' files (each candidate's listing is a git process): every candidate's when not given. */
  branches?: ReadonlySet<string>,
): Promise<{ files: CandidateMetadataFile[]; notices: string[] }> {
  const { refs, strays } = await git.candidateRefs(signal);
  const files: CandidateMetadataFile[] = [];
  const notices = strays.map((branch) => `skipped branch ${JSON.stringify(branch)}: not a candidate branch name (cand/YYYYMMDDTHHMMSSZ)`);
  for (const { branch, commit } of refs) {
    if (branches && !branches.has(branch)) continue;
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
  // Only the branches that hold a live name are listed: a promoted, rolled-back or failed candidate adds none.
  const files = (await candidateMetadataFiles(git, signal, new Set(live.values()))).files.filter(
    ({ name, branch }) => !onMain.has(name) && live.get(name) === branch,
  );
  // Every metadata.json small enough to read, with one `cat-file --batch` rather than a git process each.
  // A blob git cannot read leaves its entry broken (an empty text is no metadata), as a read of its own did.
  const texts = await git
    .readBlobs(
      files.filter((file) => file.size <= MAX_METADATA_BYTES).map((file) => file.blob),
      { signal },
    )
    .catch(() => new Map<string, Buffer>());
  for (const { branch, commit, name, path, blob, size } of files) {
    const where = `${branch}:${path}`;
    try {
      if (size > MAX_METADATA_BYTES) throw new Error(`${where}: ${size} bytes, more than the ${MAX_METADATA_BYTES} a metadata.json may have`);
      const text = texts.get(blob)?.toString("utf8") ?? "";
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

/** A tool's three files read from a ref, as text. */
type ToolFiles = Record<GeneratedToolFile, string>;

/**
 * The files of the tools `names` at `ref`, from `entries` (`ls-tree -r` of `ref:tools/generated`, paths `name/file`),
 * read with one `cat-file --batch`: a git process for them all rather than one a file.
 */
async function readToolFiles(git: RepoGit, entries: readonly TreeEntry[], names: readonly string[], signal?: AbortSignal) {
  const ids = new Map(entries.filter((entry) => entry.type === "blob").map((entry) => [entry.path, entry.id]));
  const wanted = names.flatMap((name) => GENERATED_TOOL_FILES.flatMap((file) => ids.get(`${name}/${file}`) ?? []));
  // A blob git cannot read (a damaged repository) leaves its tools unread, as a failed read of each did.
  const blobs = await git.readBlobs(wanted, { signal }).catch(() => new Map<string, Buffer>());
  const files = new Map<string, ToolFiles | undefined>();
  for (const name of names) {
    const text = (file: GeneratedToolFile) => blobs.get(ids.get(`${name}/${file}`) ?? "")?.toString("utf8");
    const [tool, tests, metadata] = [text("tool.ts"), text("tool.test.ts"), text("metadata.json")];
    files.set(
      name,
      tool === undefined || tests === undefined || metadata === undefined
        ? undefined
        : { "tool.ts": tool, "tool.test.ts": tests, "metadata.json": metadata },
    );
  }
  return files;
}

/** Reads `tools/generated/<name>/` at `ref` through git (no checkout) and checks it the way a promoted tool is checked. */
export async function readToolAt(git: RepoGit, ref: string, name: string, signal?: AbortSignal): Promise<ToolAtRef> {
  const entries = await git.treeEntries(`${ref}:${GENERATED_TOOLS_DIR}/${name}`, { signal }).catch(() => []);
  const files = await readToolFiles(
    git,
    entries.map((entry) => ({ ...entry, path: `${name}/${entry.path}` })),
    [name],
    signal,
  );
  return checkToolAt(ref, name, files.get(name));
}

/** A tool's files read from `ref` checked as a promoted tool's are: metadata valid, for `name`, the files' hashes its own. */
function checkToolAt(ref: string, name: string, files: ToolFiles | undefined): ToolAtRef {
  if (files === undefined) return { ok: false, problem: `no tool ${name} on ${ref}` };
  const where = `${ref}:${generatedToolPath(name, "metadata.json")}`;
  let metadata: ToolMetadata;
  try {
    metadata = parseToolMetadata(files["metadata.json"], where);
  } catch (error) {
    return { ok: false, problem: error instanceof Error ? error.message : String(error) };
  }
  if (metadata.spec.name !== name) return { ok: false, problem: `${where} describes ${metadata.spec.name}, not ${name}` };
  if (sha256Hex(files["tool.ts"]) !== metadata.files["tool.ts"] || sha256Hex(files["tool.test.ts"]) !== metadata.files["tool.test.ts"]) {
    return { ok: false, problem: `${name}: its files do not match the hashes in ${where}; it was changed after validation and will not run` };
  }
  return { ok: true, code: files["tool.ts"], metadata };
}

/**
 * Every generated tool on `ref` (its own versions, main's included), each read and checked; names in order. Two git
 * processes whatever the number of tools: one `ls-tree -r -t` of the folder, one `cat-file --batch` of their files.
 */
export async function toolsAtRef(git: RepoGit, ref: string, signal?: AbortSignal): Promise<Map<string, ToolAtRef>> {
  const listing = await git.treeEntries(`${ref}:${GENERATED_TOOLS_DIR}`, { recursive: true, folders: true, signal }).catch(() => []);
  const names = listing
    .map((entry) => entry.path)
    .filter((path) => !path.includes("/") && TOOL_NAME_PATTERN.test(path))
    .sort();
  const files = await readToolFiles(git, listing, names, signal);
  const tools = new Map<string, ToolAtRef>();
  for (const name of names) tools.set(name, checkToolAt(ref, name, files.get(name)));
  return tools;
}
