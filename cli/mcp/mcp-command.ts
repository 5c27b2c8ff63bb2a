import { join } from "node:path";
import { CONFIG_FILE_NAME } from "../../config/workspace-paths.ts";
import { loadOrgConfig, type OrgConfig } from "../../config/org-config.ts";
import { AUDIT_DIR, CHECKOUT_DIR } from "../../config/workspace-paths.ts";
import { DEFAULT_BROWSER } from "../../config/browser-settings.ts";
import { DEFAULT_SERVE } from "../../config/serve-settings.ts";
import type { McpBuiltInTool } from "../../mcp-server/mcp-capability.ts";
import type { SandboxAccess } from "../../sandbox/run-sandboxed.ts";
import { orgVersion } from "../../config/version.ts";
import { sandboxAccessFrom } from "../../assembly/sandbox-policy-from.ts";
import { sanitizeForTerminal } from "../../security/terminal-sanitizer.ts";
import { type Command, UsageError } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { parseCommandArgs } from "../command/parse-command-args.ts";
import { prepareWorkspace } from "../command/workspace-dir.ts";
import { MCP_SERVERS_HELP, mcpServersSubcommand, mcpTrustSubcommand } from "./mcp-servers-command.ts";
import { processEnvironment } from "../../config/environment.ts";
import { unconfirmedNotice } from "../command/command-config.ts";
import { RepoGit } from "../../git/repo-git.ts";
import { isMainOrCandidate } from "../../git/ref-names.ts";

const HELP = `Usage: org mcp [--ref BRANCH] [--workspace DIR] [--repo DIR]
       org mcp servers [--json]    (the room's own MCP servers: see below)
       org mcp trust NAME...

An MCP server on stdin/stdout (for Claude Desktop, Cursor, opencode and any other MCP client): every
promoted generated tool, and every workflow file in the workspace's workflows/ folder, as an MCP tool
with its description, input and output JSON Schema and annotations. Every call runs in the sandbox
through the same fixed runner as 'org tool run': input and output checked against the schemas, output
redacted; a failure comes back as a tool error with the reason. When main moves (a promotion or a
rollback) or a workflow file changes, the list changes without a restart and the client is told
(notifications/tools/list_changed). Also: resources (each tool's spec, source, tests, metadata and
fitness reports as org://tools/<name>/..., each workflow as org://workflows/<name>, with templates and
subscriptions), prompts (one per persona of the workspace's org.config.json, one per workflow),
completion, logging and progress for calls that ask for it. Only the protocol goes to stdout; messages
go to stderr.

It offers the room's browser too (the tool 'browser', first in the list): one browser for this process,
started at its first call, closed by its 'close', after browser.idleSeconds unused, or when stdin
closes. Like every tool here it runs whenever the client calls it (your client asks you first; org
reads no serve.tools). Its pages reach only the hosts of the workspace's sandbox.egress: another host
is asked of you through your client (MCP elicitation) when the client supports it, and refused when it
does not; a refusal says to add the host to sandbox.egress.allow. A screenshot comes back as an image.
Each call is a line of the workspace's audit log (persona mcp).

Options:
  --ref BRANCH       also offer the tools of main or a cand/YYYYMMDDTHHMMSSZ branch, read through git
                     at the branch's commit (they win over promoted tools of the same name)
  --workspace DIR    whose workflows/ are offered and where runs keep their scratch (default: current directory)
  --repo DIR         the org checkout whose tools/generated/ is offered (default: the one running)

Client configuration (e.g. claude_desktop_config.json):
  { "mcpServers": { "org": { "command": "org", "args": ["mcp", "--workspace", "/path/to/workspace"] } } }

${MCP_SERVERS_HELP}`;

function log(line: string): void {
  process.stderr.write(`org mcp: ${sanitizeForTerminal(line)}\n`);
}

/**
 * The workspace's config: its personas are one MCP prompt each, its secrets are the sandbox policy's. Undefined, with a
 * line on stderr, when its org.config.json is wrong: then no persona prompts, and the environment's secrets alone.
 */
function workspaceConfig(workspaceDir: string, repoDir: string): OrgConfig | undefined {
  try {
    const config = loadOrgConfig(join(workspaceDir, CONFIG_FILE_NAME), processEnvironment(), { workspaceDir, checkoutDir: repoDir });
    const waiting = unconfirmedNotice(config, workspaceDir);
    if (waiting !== undefined) log(waiting);
    return config;
  } catch (error) {
    log(`no persona prompts: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

/**
 * The room's `browser` for this process's one MCP session: its settings and `sandbox.egress` from the workspace's config,
 * its files in the session's scratch, its calls audited in the workspace's audit log. Nothing of it loads before a call.
 */
async function stdioBrowser(workspaceDir: string, config: OrgConfig | undefined, access: SandboxAccess): Promise<McpBuiltInTool> {
  const [{ browserTool }, { mcpBrowser }, { AuditLog }, { WorkspaceCopies }] = await Promise.all([
    import("../../tools/browser.ts"),
    import("../../mcp-server/mcp-browser.ts"),
    import("../../security/audit-log.ts"),
    import("../../workspace/workspace-copies.ts"),
  ]);
  return mcpBrowser(browserTool({ settings: config?.browser ?? DEFAULT_BROWSER }), {
    ...access,
    workspaceCopies: new WorkspaceCopies(),
    workspaceDir,
    sessionId: `mcp-${crypto.randomUUID()}`,
    secrets: config?.secrets ?? [],
    // A question to the client's user about a host waits as long as the room's over serve.
    askTimeoutS: config?.serve.approvalTimeoutS ?? DEFAULT_SERVE.approvalTimeoutS,
    audit: new AuditLog(join(workspaceDir, AUDIT_DIR)),
  });
}

/** `org mcp`: the generated tools and workflows over MCP's stdio transport until stdin closes. */
export const mcpCommand: Command = {
  ...nameAndSummary("mcp"),
  help: HELP,
  async run(args, signal) {
    // The room's own MCP servers; without a subcommand, org's server on stdio.
    if (args[0] === "servers") return mcpServersSubcommand(args.slice(1), signal);
    if (args[0] === "trust") return mcpTrustSubcommand(args.slice(1));
    const { values } = parseCommandArgs("mcp", args, { ref: { type: "string" }, workspace: { type: "string" }, repo: { type: "string" } });
    if (values.ref !== undefined && !isMainOrCandidate(values.ref))
      throw new UsageError(`--ref takes main or a cand/YYYYMMDDTHHMMSSZ branch, not '${values.ref}'`, "mcp");
    const repoDir = values.repo ?? CHECKOUT_DIR;
    if (values.ref !== undefined) RepoGit.openCheckout(repoDir, "--ref is read from a checkout: give --repo the org checkout");
    // Before anything else: a stray line on stdout would break the protocol.
    const toStderr = (...parts: unknown[]) => log(parts.map(String).join(" "));
    console.log = toStderr;
    console.info = toStderr;
    console.debug = toStderr;
    const workspaceDir = prepareWorkspace(values.workspace ?? process.cwd());
    const { orgMcpTools } = await import("../../mcp-server/org-mcp-tools.ts");
    const { createMcpToolServer } = await import("../../mcp-server/mcp-tool-server.ts");
    const { StdioServerTransport } = await import("@modelcontextprotocol/sdk/server/stdio.js");
    const version = orgVersion();
    const config = workspaceConfig(workspaceDir, repoDir);
    const access = sandboxAccessFrom(config ? { config } : {});
    const tools = orgMcpTools({ repoDir, workspaceDir, ...(values.ref ? { ref: values.ref } : {}), log, ...access });
    await tools.refresh();
    const browser = await stdioBrowser(workspaceDir, config, access);
    const { server, dispose } = await createMcpToolServer({
      tools,
      version,
      logError: log,
      personas: config?.personas ?? [],
      builtIns: [browser],
    });
    const transport = new StdioServerTransport();
    const closed = new Promise<void>((resolve) => {
      transport.onclose = () => resolve();
      process.stdin.once("end", () => resolve());
    });
    await server.connect(transport);
    tools.follow([repoDir, workspaceDir], (error) => log(`reading the tools failed: ${error instanceof Error ? error.message : String(error)}`));
    const names = [browser.name, ...tools.entries().flatMap((entry) => (entry.name === browser.name ? [] : [entry.name]))];
    log(`serving ${names.length} tool(s) on stdio: ${names.join(", ")}`);
    await Promise.race([closed, new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }))]);
    tools.stop();
    // The browser, if a call started one, is closed before org exits (else the sandbox's lifeline ends it).
    await dispose();
    await server.close().catch(() => {});
    return 0;
  },
};
