// The health of a repository's promoted tools as grow judges it: each tool on the calls made since its current
// promotion, found through git (the newest promotion still on main that added or changed it), so that a rebuild
// promoted with the very code that was rolled back is not judged, and rolled back again, on the calls that rolled
// back the one before. `org grow` acts on it; `org supervise` reports what grow would act on.
import type { GrowSettings } from "../config/grow-settings.ts";
import { generatedToolFolders } from "../config/tool-names.ts";
import { toolPromotions } from "../git/last-promotion.ts";
import { RepoGit } from "../git/repo-git.ts";
import { judgeToolHealth, type ToolHealth } from "../usage/tool-health.ts";

/** `judgeToolHealth` of `repoDir`'s promoted tools, each on its calls since its current promotion. */
export async function toolHealthNow(options: {
  repoDir: string;
  settings: GrowSettings;
  now: Date;
  git?: RepoGit;
  signal?: AbortSignal;
}): Promise<ToolHealth> {
  const { repoDir, settings, now, signal } = options;
  const tools = new Set(generatedToolFolders(repoDir).names);
  const promotions = await toolPromotions(options.git ?? new RepoGit(repoDir), tools, signal);
  const promotedAt = new Map([...promotions].map(([tool, promotion]) => [tool, promotion.at]));
  return judgeToolHealth({ workspaceRoot: repoDir, config: { grow: settings }, now, promotedAt });
}
