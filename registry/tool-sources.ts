import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GENERATED_TOOLS_DIR } from "../config/tool-names.ts";
import { CANDIDATE_BRANCH_PATTERN } from "../git/candidate-branch.ts";
import { RepoGit } from "../git/repo-git.ts";
import { TOOL_NAME_PATTERN } from "../toolsmith/tool-metadata.ts";

// A metadata.json beyond this is refused unread: the schema allows long fields, not megabytes.
export const MAX_METADATA_BYTES = 256 * 1024;

const CANDIDATE_METADATA_PATH = /^tools\/generated\/([a-z][a-z0-9_]{1,47})\/metadata\.json$/;
const OBJECT_ID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

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
  return createHash(algorithm).update(`blob ${content.byteLength}\0`).update(content).digest("hex");
}

/** The checkout's `tools/generated/<name>/metadata.json` files, each read once. */
function checkoutSources(repoDir: string, notices: string[]): { sources: ToolSource[]; contents: Map<string, Uint8Array> } {
  const root = join(repoDir, GENERATED_TOOLS_DIR);
  const sources: ToolSource[] = [];
  const contents = new Map<string, Uint8Array>();
  if (!existsSync(root)) return { sources, contents };
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const label = join(GENERATED_TOOLS_DIR, entry.name, "metadata.json");
    if (!TOOL_NAME_PATTERN.test(entry.name)) {
      notices.push(`skipped ${JSON.stringify(entry.name)} in ${GENERATED_TOOLS_DIR}: not a tool name (snake_case, 2–48 characters)`);
      continue;
    }
    const path = join(root, entry.name, "metadata.json");
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
    contents.set(entry.name, content);
    const text = content.toString("utf8");
    sources.push({ key: `promoted:${entry.name}`, name: entry.name, origin: "promoted", blob: gitBlobId(content), label, read: async () => text });
  }
  return { sources, contents };
}

/**
 * The generated tools `cand/*` branches add or change, read through git without touching the checkout:
 * one git process at a time, hooks off, only branches named `cand/YYYYMMDDTHHMMSSZ`, objects named by id.
 */
async function candidateSources(repoDir: string, promoted: Map<string, Uint8Array>, notices: string[], signal?: AbortSignal): Promise<ToolSource[]> {
  if (!existsSync(join(repoDir, ".git"))) return [];
  const git = new RepoGit(repoDir);
  const refs = await git.run(["for-each-ref", "--format=%(objectname) %(refname)", "refs/heads/cand/"], { signal });
  const sources: ToolSource[] = [];
  for (const line of refs.split("\n")) {
    if (line === "") continue;
    const [commit = "", ref = ""] = line.split(" ", 2);
    const branch = ref.replace(/^refs\/heads\//, "");
    if (!CANDIDATE_BRANCH_PATTERN.test(branch) || !OBJECT_ID.test(commit)) {
      notices.push(`skipped branch ${JSON.stringify(branch)}: not a candidate branch name (cand/YYYYMMDDTHHMMSSZ)`);
      continue;
    }
    const tree = await git.run(["ls-tree", "-r", "-l", "--full-tree", commit, "--", "tools/generated/"], { signal });
    for (const row of tree.split("\n")) {
      const [info = "", path = ""] = row.split("\t");
      const [mode, type, blob = "", size = ""] = info.split(/\s+/);
      const name = CANDIDATE_METADATA_PATH.exec(path)?.[1];
      if (!name || mode !== "100644" || type !== "blob" || !OBJECT_ID.test(blob)) continue;
      const label = `${branch}:${path}`;
      const own = promoted.get(name);
      // A branch made from main carries every promoted tool: only what it adds or changes is a candidate.
      if (own && gitBlobId(own, blob.length === 64 ? "sha256" : "sha1") === blob) continue;
      if (Number(size) > MAX_METADATA_BYTES) {
        notices.push(`skipped ${label}: ${size} bytes, more than the ${MAX_METADATA_BYTES} a metadata.json may have`);
        continue;
      }
      sources.push({
        key: `${branch}:${name}`,
        name,
        origin: "candidate",
        branch,
        blob,
        label,
        read: () => git.run(["cat-file", "blob", blob], { signal }),
      });
    }
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
