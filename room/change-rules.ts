import { isAbsolute, relative, resolve } from "node:path";
import { CONFIG_FILE_NAME } from "../config/workspace-paths.ts";
import type { OrgConfig } from "../config/org-config.ts";
import type { ChangeRules } from "../workspace/change-journal.ts";
import { DEFAULT_PROTECTED_PATHS } from "../workspace/check-change-set.ts";

/**
 * What a workspace change, and the undo of one, may not touch, from the config: org's defaults, `sandbox.protectedPaths`,
 * org's config file (the default name, and the file read when it lies in the workspace), and the secret paths (the
 * config's, with those the views hid under `viewSecretPaths`: never written either). The limits are the config's.
 */
export function changeRules(
  config: OrgConfig,
  workspaceDir: string,
  viewSecretPaths: readonly string[] = [],
): Required<ChangeRules> & { protectedPaths: string[]; secretPaths: string[] } {
  const configFiles = [CONFIG_FILE_NAME, ...(config.source ? [config.source] : [])].flatMap((file) => {
    const path = relative(workspaceDir, resolve(workspaceDir, file));
    return path === "" || path.startsWith("..") || isAbsolute(path) ? [] : [path];
  });
  return {
    limits: config.limits,
    protectedPaths: [...new Set([...DEFAULT_PROTECTED_PATHS, ...config.sandbox.protectedPaths, ...configFiles])],
    secretPaths: [...new Set([...config.sandbox.secretPaths, ...viewSecretPaths])],
  };
}
