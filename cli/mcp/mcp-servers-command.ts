import { loadCommandConfig } from "../command/command-config.ts";
import { sandboxAccessFrom } from "../../assembly/sandbox-policy-from.ts";
import { CONFIG_FILE_NAME } from "../../config/workspace-paths.ts";
import type { OrgConfig } from "../../config/org-config.ts";
import { orgVersion } from "../../config/version.ts";
import { formatMcpStatus } from "../../mcp-client/format-mcp-status.ts";
import { describeLaunch, isTrusted, recordTrust } from "../../mcp-client/mcp-trust.ts";
import { probeMcpServers } from "../../mcp-client/probe-mcp-servers.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { UsageError } from "../command/command.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";
import { counted } from "../../config/counted.ts";
import { OrgError } from "../../errors/org-error.ts";

// `org mcp servers` and `org mcp trust`: the room's own MCP servers (`mcpServers` in org.config.json), outside the room.
// `org mcp` with no subcommand is org's own MCP server (mcp-command.ts).

export const MCP_SERVERS_HELP = `Usage: org mcp servers [--json] [--config FILE] [--workspace DIR]
       org mcp trust NAME... [--config FILE] [--workspace DIR]

servers: each MCP server of the workspace's org.config.json ("mcpServers"), its state and its tools as the room
offers them (<server>__<tool>, with the policy each gets). A confirmed server is started, listed and stopped again
(each within mcp.startTimeoutS); one that is new or changed since you last confirmed it is not started and shows
as "untrusted". --json prints { "servers": [{ name, transport, sandbox, launch, state, detail?, tools, skipped }] }.

trust: confirms the named servers exactly as configured now (command, args, env, sandbox, network; or URL and
headers) and, for a program, the files it starts from as they are now (the program its command finds, its script,
the package npx, bunx or uvx finds in the workspace), so the room, 'org serve' and 'chat --once' start them;
remembered in your own org folder (ORG_HOME, else ~/.config/org; never in the workspace) until any of that changes.
It prints what it confirmed. 'org config trust' confirms every server that waits, with the config's other settings.`;

function readConfig(values: { config?: string; workspace?: string }): { config: OrgConfig; workspaceDir: string } {
  const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
  return { config: loadCommandConfig(values.config, workspaceDir), workspaceDir };
}

const FLAGS = { config: { type: "string" }, workspace: { type: "string" } } as const;

/** `org mcp servers [--json]`: every configured server's state and tools; exit 0 when the list could be made. */
export async function mcpServersSubcommand(args: string[], signal: AbortSignal): Promise<number> {
  const { values } = parseCommandArgs("mcp servers", args, { ...FLAGS, json: { type: "boolean" } });
  const { config, workspaceDir } = readConfig(values);
  const statuses = await probeMcpServers({
    servers: config.mcpServers,
    settings: config.mcp,
    workspaceDir,
    ...sandboxAccessFrom({ config, changes: { poolSize: 0 } }),
    version: orgVersion(),
    signal,
  });
  if (values.json) console.log(terminalSafeJson({ servers: statuses }));
  else for (const line of formatMcpStatus(statuses)) console.log(sanitizeForTerminal(line));
  return 0;
}

/** `org mcp trust NAME...`: confirms each named server as configured now. */
export async function mcpTrustSubcommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs("mcp trust", args, FLAGS, { positionals: true });
  const { config, workspaceDir } = readConfig(values);
  const waiting = config.mcpServers.filter((server) => !isTrusted(server, workspaceDir)).map((server) => server.name);
  if (positionals.length === 0) {
    throw new UsageError(
      `mcp trust needs the names of the servers to confirm; ${
        waiting.length > 0 ? `waiting for confirmation: ` + `${waiting.join(", ")}` : "none is waiting for confirmation"
      }`,
      "mcp",
    );
  }
  for (const name of positionals) {
    const server = config.mcpServers.find((entry) => entry.name === name);
    if (!server) {
      const known = config.mcpServers.map((entry) => entry.name);
      throw new OrgError(
        `there is no MCP server "${name}" in ${config.source ?? CONFIG_FILE_NAME}; ${
          known.length > 0 ? `it ` + `has: ${known.join(", ")}` : "it has no mcpServers"
        }`,
      );
    }
    const covered = recordTrust(server, workspaceDir);
    const files = covered > 0 ? `, and the ${counted(covered, "file or folder", "files and folders")} it starts from as they are now` : "";
    console.log(sanitizeForTerminal(`confirmed ${name}: ${describeLaunch(server)}${files}`));
  }
  return 0;
}
