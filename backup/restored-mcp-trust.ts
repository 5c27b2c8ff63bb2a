import { existsSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_FILE_NAME, loadOrgConfig } from "../config/org-config.ts";
import { confirmedServerNames, describeTrustProblem, rebindTrust } from "../mcp-client/mcp-trust.ts";
import type { BackupManifest } from "./backup-manifest.ts";

/** What a restore did with the MCP confirmations it put back: the servers bound again, those that stay off, and why (each line naming the command that confirms it). */
export type RestoredTrust = { rebound: string[]; untrusted: string[]; said: string[] };

/**
 * The MCP servers the backed-up workspace had confirmed, bound to the restored workspace: each one org.config.json
 * there names, for exactly the launch confirmed then, and only while every file it runs from is as it was confirmed
 * (`rebindTrust`). A confirmation is a promise about one folder, so nothing else carries over: a server whose launch or
 * files differ, or one of a backup older than the record of where its confirmations were made, is confirmed again by
 * the user (`org mcp trust NAME`).
 */
export function rebindRestoredTrust(workspaceDir: string, manifest: BackupManifest, env?: NodeJS.ProcessEnv): RestoredTrust {
  const confirmed = confirmedServerNames(workspaceDir);
  if (confirmed.length === 0) return { rebound: [], untrusted: [], said: [] };
  const file = join(workspaceDir, CONFIG_FILE_NAME);
  const none = (why: string): RestoredTrust => ({ rebound: [], untrusted: confirmed, said: [`${confirmed.join(", ")}: confirmed in the backup, but ${why}`] });
  if (!existsSync(file)) return none(`${file} is not there to say how they start; with it back, run 'org mcp trust NAME' for each`);
  let servers: ReturnType<typeof loadOrgConfig>["mcpServers"];
  try {
    servers = loadOrgConfig(file, env, { workspaceDir }).mcpServers;
  } catch (error) {
    return none(
      `${file} could not be read (${error instanceof Error ? error.message.split("\n")[0] : String(error)}); fix it, then run 'org mcp trust NAME' for each`,
    );
  }
  const was = manifest.workspace.trustPlace;
  const outcome: RestoredTrust = { rebound: [], untrusted: [], said: [] };
  for (const server of servers.filter((entry) => confirmed.includes(entry.name))) {
    const problem = was ? rebindTrust(server, workspaceDir, { ...was, path: manifest.workspace.path }, env) : undefined;
    if (was && problem === undefined) {
      outcome.rebound.push(server.name);
      continue;
    }
    outcome.untrusted.push(server.name);
    outcome.said.push(
      problem
        ? describeTrustProblem(server, problem, workspaceDir)
        : `${server.name} stays off: this backup does not record where it was confirmed (an older org took it); run 'org mcp trust ${server.name}'`,
    );
  }
  return outcome;
}
