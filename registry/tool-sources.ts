import { lstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { generatedToolFolders } from "../config/tool-names.ts";
import { GENERATED_TOOLS_DIR, generatedToolPath, linkedFolderProblem } from "../config/workspace-paths.ts";
import { RepoGit } from "../git/repo-git.ts";
import { candidateMetadataFiles } from "../generated-tools/tool-catalog.ts";
import { MAX_METADATA_BYTES } from "../generated-tools/tool-metadata.ts";

/** One metadata.json the registry may index: from the checkout (promoted) or from a `cand/*` branch. */
export type ToolSource = {
  /** Unique per entry: `promoted:<name>` or `<branch>:<name>`. */
  key: string;
  name: string;
  origin: "promoted" | "candidate";
  branch?: string;
  /** The git blob id of the file's content: its content hash. */
  blob: string;
  /** Where the file is, for notices. */
  label: string;
  read(): Promise<string>;
};

/** The id git gives a blob with this content (sha1, or sha256 in a sha256 repository). */
export function gitBlobId(content: Uint8Array, algorithm: "sha1" | "sha256" = "sha1"): string {
  return new Bun.CryptoHasher(algorithm).update(`blob ${content.byteLength}\0`).update(content).digest("hex");
}

/** The checkout's `tools/generated/<name>/metadata.json` files, each read once; over MAX_METADATA_BYTES, not read at all. */
function checkoutSources(repoDir: string, notices: string[]): { sources: ToolSource[]; contents: Map<string, Uint8Array> } {
  const sources: ToolSource[] = [];
  const contents = new Map<string, Uint8Array>();
  const folders = generatedToolFolders(repoDir);
  if (folders.linked !== undefined) notices.push(`skipped ${GENERATED_TOOLS_DIR}: ${linkedFolderProblem(GENERATED_TOOLS_DIR, folders.linked)}`);
  for (const other of folders.others) {
    notices.push(`skipped ${JSON.stringify(other)} in ${GENERATED_TOOLS_DIR}: not a tool name (snake_case, 2–48 characters)`);
  }
  for (const name of folders.names) {
    const label = generatedToolPath(name, "metadata.json");
    const path = join(repoDir, label);
    let stat: ReturnType<typeof lstatSync>;
    try {
      stat = lstatSync(path);
    } catch {
      notices.push(`skipped ${label}: missing`);
      continue;
    }
    if (!stat.isFile()) {
      notices.push(`skipped ${label}: not a regular file`);
      continue;
    }
    if (stat.size > MAX_METADATA_BYTES) {
      notices.push(`skipped ${label}: ${stat.size} bytes, more than the ${MAX_METADATA_BYTES} a metadata.json may have`);
      continue;
    }
    const content = readFileSync(path);
    contents.set(name, content);
    const text = content.toString("utf8");
    sources.push({ key: `promoted:${name}`, name, origin: "promoted", blob: gitBlobId(content), label, read: async () => text });
  }
  return { sources, contents };
}

/**
 * The generated tools `cand/*` branches add or change, read through git without touching the checkout:
 * one git process at a time, hooks off, only branches named `cand/YYYYMMDDTHHMMSSZ`, objects named by id.
 */
async function candidateSources(repoDir: string, promoted: Map<string, Uint8Array>, notices: string[], signal?: AbortSignal): Promise<ToolSource[]> {
  if (!RepoGit.isCheckout(repoDir)) return [];
  const git = new RepoGit(repoDir);
  const listed = await candidateMetadataFiles(git, signal);
  notices.push(...listed.notices);
  const sources: ToolSource[] = [];
  for (const { branch, name, path, blob, size } of listed.files) {
    const label = `${branch}:${path}`;
    const own = promoted.get(name);
    // A branch made from main carries every promoted tool: only what it adds or changes is a candidate.
    if (own && gitBlobId(own, blob.length === 64 ? "sha256" : "sha1") === blob) continue;
    if (size > MAX_METADATA_BYTES) {
      notices.push(`skipped ${label}: ${size} bytes, more than the ${MAX_METADATA_BYTES} a metadata.json may have`);
      continue;
    }
    sources.push({ key: `${branch}:${name}`, name, origin: "candidate", branch, blob, label, read: () => git.readBlob(blob, signal) });
  }
  return sources;
}

/** Every metadata.json of the checkout and of its candidate branches, with notices for what was skipped. */
export async function collectToolSources(repoDir: string, signal?: AbortSignal): Promise<{ sources: ToolSource[]; notices: string[] }> {
  const notices: string[] = [];
  const checkout = checkoutSources(repoDir, notices);
  const candidates = await candidateSources(repoDir, checkout.contents, notices, signal);
  return { sources: [...checkout.sources, ...candidates], notices };
}
