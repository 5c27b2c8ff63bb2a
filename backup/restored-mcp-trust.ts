import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILE_NAME } from "../config/workspace-paths.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import { SealedRecords } from "../config/trust-store.ts";
import { ORG_DIR } from "../config/workspace-paths.ts";
import { carriedConfirmations, describeTrustProblem, rebindTrust } from "../mcp-client/mcp-trust.ts";
import { type BackupManifest, CARRIED_TRUST_FILE } from "./backup-manifest.ts";

/** What a restore did with the MCP confirmations it put back: the servers bound again, those that stay off, and why (each line naming the command
 * that confirms it).
 */
export type RestoredTrust = { rebound: string[]; untrusted: string[]; said: string[] };

/** The confirmations the backup carried (left in the restored `.org/` by the restore), read and removed: nothing of them stays in the workspace. */
function takeCarried(workspaceDir: string): { carried?: SealedRecords; unreadable: boolean } {
  const path = join(workspaceDir, ORG_DIR, CARRIED_TRUST_FILE);
  if (!existsSync(path)) return { unreadable: false };
  try {
    const parsed = SealedRecords.safeParse(JSON.parse(readFileSync(path, "utf8")));
    return parsed.success ? { carried: parsed.data, unreadable: false } : { unreadable: true };
  } catch {
    return { unreadable: true };
  } finally {
    rmSync(path, { force: true });
  }
}

/**
 * The MCP servers the backed-up workspace had confirmed, bound to the restored workspace. A confirmation crosses only
 * when the user's own key (which never leaves the user's org folder, so no backup holds it) sealed it: one a backup
 * made up, altered, or sealed by another user's org is not believed, and that server waits for `org mcp trust NAME`.
 * A sealed one holds for exactly the launch org.config.json gives it there, and only while every file it runs from is
 * as it was confirmed (`rebindTrust`).
 */
export function rebindRestoredTrust(workspaceDir: string, manifest: BackupManifest, env?: NodeJS.ProcessEnv): RestoredTrust {
  const { carried, unreadable } = takeCarried(workspaceDir);
  const file = join(workspaceDir, CONFIG_FILE_NAME);
  const named = carried ? Object.keys(carried.records) : [];
  const sealed = carried ? carriedConfirmations(carried) : undefined;
  const outcome: RestoredTrust = { rebound: [], untrusted: [], said: [] };
  if (unreadable)
    outcome.said.push(
      `the backup's MCP confirmations are not ones this org keeps (an older org's, or made up); confirm each server again with 'org mcp trust NAME'`,
    );
  if (named.length === 0) return outcome;
  const none = (why: string): RestoredTrust => ({
    rebound: [],
    untrusted: named,
    said: [`${named.join(", ")}: confirmed in the backup, but ${why}`],
  });
  if (!existsSync(file)) return none(`${file} is not there to say how they start; with it back, run 'org mcp trust NAME' for each`);
  let servers: ReturnType<typeof loadOrgConfig>["mcpServers"];
  try {
    servers = loadOrgConfig(file, env, { workspaceDir }).mcpServers;
  } catch (error) {
    return none(
      `${file} could not be read (${error instanceof Error ? error.message.split("\n")[0] : String(error)}); ` +
        `fix it, then run 'org mcp trust NAME' for each`,
    );
  }
  for (const server of servers.filter((entry) => named.includes(entry.name))) {
    const confirmation = sealed?.servers.get(server.name);
    if (confirmation === undefined) {
      outcome.untrusted.push(server.name);
      outcome.said.push(
        `${server.name} stays off: its confirmation in the backup is not sealed by your org's key (the backup ` +
          `was made elsewhere, or altered); it must be confirmed again: run 'org mcp trust ${server.name}'`,
      );
      continue;
    }
    const problem = rebindTrust(server, workspaceDir, { workspace: sealed?.workspace ?? "", confirmation, path: manifest.workspace.path }, env);
    if (problem === undefined) outcome.rebound.push(server.name);
    else {
      outcome.untrusted.push(server.name);
      outcome.said.push(describeTrustProblem(server, problem, workspaceDir));
    }
  }
  return outcome;
}
