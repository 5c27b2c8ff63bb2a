import { generatedToolFolders } from "../config/tool-names.ts";
import { candidateRefNames } from "../git/candidate-ref-names.ts";
import type { CatalogEntry } from "./catalog-entry.ts";
import type { LiveCandidateNames } from "./tool-catalog.ts";

// `org tool list` reads the catalogue through here. Reading it needs zod (metadata is validated on every read),
// RepoGit and the candidate states (`liveNames`, handed in), which cost a start-up several times bare bun's: they are loaded only when
// there is a promoted tool folder or a `cand/*` branch to read.

/**
 * Every generated tool of the checkout: its promoted tools (`promotedTools`, catalog-entry.ts), then the live
 * candidates' (`candidateTools`, tool-catalog.ts), each loaded only when there is something for it to read.
 */
export async function listGeneratedTools(repoDir: string, liveNames: LiveCandidateNames, signal?: AbortSignal): Promise<CatalogEntry[]> {
  const promoted = generatedToolFolders(repoDir).names.length > 0;
  // When git fails here, the full reader runs and reports git's own error.
  const candidates = (await candidateRefNames(repoDir, signal))?.length !== 0;
  if (!promoted && !candidates) return [];
  const { promotedTools } = await import("./catalog-entry.ts");
  if (!candidates) return promotedTools(repoDir);
  const { candidateTools } = await import("./tool-catalog.ts");
  const { RepoGit } = await import("../git/repo-git.ts");
  return [...promotedTools(repoDir), ...(await candidateTools(new RepoGit(repoDir), liveNames, signal))];
}
