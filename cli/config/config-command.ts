import { join } from "node:path";
import { type ConfigTrust, confirmConfig, configTrust } from "../../config/config-trust.ts";
import { processEnvironment } from "../../config/environment.ts";
import type { McpServerConfig } from "../../config/mcp-servers.ts";
import { CONFIG_FILE_NAME } from "../../config/workspace-paths.ts";
import { userOrgDir } from "../../config/user-org-dir.ts";
import { SERVER_URL_KEY } from "../../llm/persona-server.ts";
import { describeLaunch, describeTrustProblem, recordTrust, trustProblem } from "../../mcp-client/mcp-trust.ts";
import { terminalSafeJson } from "../../security/terminal-safe-json.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { type Command, UsageError } from "../command/command.ts";
import { loadCommandConfig } from "../command/command-config.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";

const HELP = `Usage: org config [status] [--json] [--config FILE] [--workspace DIR]
       org config trust [--json] [--config FILE] [--workspace DIR]

A workspace's org.config.json is written by whoever wrote the repository (a clone, an archive, a backup, a model
with the write view). Its settings that send something out of this machine or lower one of org's guards take
effect only once you confirm them, each bound to its value; until then org runs with that setting's default and
says what waits (in 'org chat', 'org doctor', 'org serve' and every command that reads the config):
  - a persona's ${SERVER_URL_KEY}, or a route's of models.byPurpose or models.byTool, on another server than
    OLLAMA_BASE's (the conversation, or those calls, and the files they quote go there)
  - apiKeyEnv, a persona's or a server's (that variable's value is sent to the server as its key)
  - a tool policy "allow" where the default asks or denies: a persona's tools, serve.tools, an MCP server's
    policy or tools (until confirmed: "ask")
  - sandbox.workspace "write", sandbox.workspaceWrite "allow", sandbox.secretPaths without every default pattern
  - sandbox.egress with hosts or presets allowed, or unlisted "ask" (until confirmed: commands have no network)
  - network.allowedHosts, network.defaultDeny false (what web_fetch may reach), web.requestHosts (where
    web_request sends without asking)
  - telegram.apiBase other than Telegram's, telegram.transcribe, telegram.allowedChats
  - supervise.webhook, supervise.autoFix beyond the default fixes, supervise.idleWork, backup.dir
  - grow.autoPromote, share.autoPromote, share.pullEvery, observer.promote "auto", grow.confirmSessions below 2
  - a bar or a bound laxer than its default: toolsmith.coverage or toolsmith.mutationScore lower,
    grow.maxFailureRate, network.perMinute or web.perMinute higher
  - each of schedules (a message or a workflow run unattended on its clock)
  - each MCP server of mcpServers, confirmed by its launch and the files it runs ('org mcp trust NAME' too)
A setting that only adds protection (the read or no view, more protected or secret paths, "deny", a stricter bar)
needs nothing.

status (the default): each such setting, its value, what it does, and whether you confirmed it; and each MCP server.
trust: confirms every setting that waits exactly as it is now, and every MCP server that waits exactly as it is
       configured with the files it runs as they are now, and prints what it confirmed. A value changed later
       waits again.

Confirmations live in your own org folder (ORG_HOME, else $XDG_CONFIG_HOME/org, else ~/.config/org; 0700), for
the workspace's real path, sealed with a key that never leaves that folder: a repository's .org/ and a backup carry
none. 'org init' confirms the file it writes.

Options:
  --json             status: { file, workspace, orgHome, settings: [{ setting, value, why, confirmed }],
                     mcpServers: [{ name, launch, confirmed, why? }] }; trust: { confirmed: [{ setting, value }],
                     mcpServers: [name] }
  --config FILE      the config file (default: org.config.json in the workspace)
  --workspace DIR    the workspace (default: current directory)

Example:
  org config status
  org config trust`;

type McpTrustLine = { name: string; launch: string; confirmed: boolean; why?: string };

function mcpStates(servers: readonly McpServerConfig[], workspaceDir: string): McpTrustLine[] {
  return servers.map((server) => {
    const problem = trustProblem(server, workspaceDir);
    return {
      name: server.name,
      launch: describeLaunch(server),
      confirmed: problem === undefined,
      ...(problem ? { why: describeTrustProblem(server, problem, workspaceDir) } : {}),
    };
  });
}

function printStatus(state: ConfigTrust, mcp: McpTrustLine[]): void {
  const say = (line: string) => console.log(sanitizeForTerminal(line));
  if (state.settings.length === 0 && mcp.length === 0) {
    say(`${state.file}: no setting that sends something out or lowers a guard; nothing to confirm.`);
    return;
  }
  say(`${state.file} (workspace ${state.workspace}):`);
  for (const setting of state.settings)
    say(
      `  ${setting.confirmed ? "confirmed" : "waits    "}  ${setting.setting} = ` +
        `${setting.shown}${setting.confirmed ? "" : `\n             ${setting.why}`}`,
    );
  for (const server of mcp) say(`  ${server.confirmed ? "confirmed" : "waits    "}  mcpServers.${server.name}: ${server.launch}`);
  const waiting = state.settings.filter((setting) => !setting.confirmed).length + mcp.filter((server) => !server.confirmed).length;
  say(waiting === 0 ? "Everything is confirmed." : `${waiting} waiting; 'org config trust' confirms them as they are now.`);
}

/** `org config [status|trust]`. */
export const configCommand: Command = {
  ...nameAndSummary("config"),
  help: HELP,
  async run(args) {
    const [first, ...rest] = args;
    const sub = first === "status" || first === "trust" ? first : "status";
    const words = first === "status" || first === "trust" ? rest : args;
    const { values, positionals } = parseCommandArgs(
      `config ${sub}`,
      words,
      { json: { type: "boolean" }, config: { type: "string" }, workspace: { type: "string" } },
      { positionals: true },
    );
    if (positionals.length > 0) throw new UsageError(`config takes status or trust, not '${positionals[0]}'`, "config");
    const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
    const file = values.config ?? join(workspaceDir, CONFIG_FILE_NAME);
    const env = processEnvironment();
    // Read through the gate: a file that does not parse stops here, saying where.
    const config = loadCommandConfig(values.config, workspaceDir, env, { announce: false });
    if (sub === "status") {
      const state = configTrust(file, env, { workspaceDir });
      const mcp = mcpStates(config.mcpServers, workspaceDir);
      if (values.json) {
        const settings = state.settings.map((setting) => ({
          setting: setting.setting,
          value: setting.shown,
          why: setting.why,
          confirmed: setting.confirmed,
        }));
        console.log(terminalSafeJson({ file: state.file, workspace: state.workspace, orgHome: userOrgDir(env) ?? null, settings, mcpServers: mcp }));
      } else printStatus(state, mcp);
      return 0;
    }
    const confirmed = confirmConfig(file, env, { workspaceDir });
    const servers = mcpStates(config.mcpServers, workspaceDir).filter((server) => !server.confirmed);
    for (const server of servers) {
      const entry = config.mcpServers.find((candidate) => candidate.name === server.name);
      if (entry) recordTrust(entry, workspaceDir, { env });
    }
    if (values.json) {
      console.log(
        terminalSafeJson({
          confirmed: confirmed.map((setting) => ({ setting: setting.setting, value: setting.shown })),
          mcpServers: servers.map((server) => server.name),
        }),
      );
      return 0;
    }
    for (const setting of confirmed) console.log(sanitizeForTerminal(`confirmed ${setting.setting} = ${setting.shown}`));
    for (const server of servers) console.log(sanitizeForTerminal(`confirmed MCP server ${server.name}: ${server.launch}`));
    if (confirmed.length === 0 && servers.length === 0) console.log(sanitizeForTerminal(`${file}: nothing waits; nothing to confirm.`));
    return 0;
  },
};
