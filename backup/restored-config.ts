import { chmodSync, existsSync, renameSync } from "node:fs";
import { join } from "node:path";
import { configTrust } from "../config/config-trust.ts";
import type { GuardedSetting } from "../config/guarded-setting.ts";
import { CONFIG_FILE_NAME } from "../config/workspace-paths.ts";

/** What a restore did with the workspace's org.config.json: whether it put one back, and its settings that wait for `org config trust`. */
export type RestoredConfig = {
  restored: boolean;
  waiting: GuardedSetting[];
  problem?: string;
  /** Put into the checkout's own folder untracked, and so kept out of git status by its .git/info/exclude. */
  excluded?: boolean;
};

/**
 * Puts the backed-up org.config.json (kept aside in `staged` while the checkout was built, which would have written over
 * it) into the restored workspace, in place of whatever entry is there (renamed over it: a link the checkout's tree
 * holds is replaced, never followed). Its settings that send something out or lower a guard are not confirmed for the
 * restored folder: like any repository's, they wait for `org config trust` there.
 */
export function placeRestoredConfig(staged: string, workspaceDir: string, env?: NodeJS.ProcessEnv): RestoredConfig {
  if (!existsSync(staged)) return { restored: false, waiting: [] };
  const target = join(workspaceDir, CONFIG_FILE_NAME);
  chmodSync(staged, 0o644);
  renameSync(staged, target);
  try {
    return { restored: true, waiting: configTrust(target, env, { workspaceDir }).settings.filter((setting) => !setting.confirmed) };
  } catch (error) {
    return { restored: true, waiting: [], problem: error instanceof Error ? (error.message.split("\n")[0] ?? "") : String(error) };
  }
}
