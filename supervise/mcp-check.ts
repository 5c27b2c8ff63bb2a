import { join } from "node:path";
import { formatDuration } from "../config/duration.ts";
import type { McpServerConfig } from "../config/mcp-servers.ts";
import { CONFIG_FILE_NAME } from "../config/workspace-paths.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import { holdMcpServer, mcpHold, readMcpRestarts } from "../mcp-client/mcp-restarts.ts";
import type { Check, CheckResult, Fix, Finding, SuperviseContext } from "./supervise-check.ts";

/** The folders whose org processes run MCP servers (the workspace, and the checkout current serves), with their servers. */
function serverPlaces(context: SuperviseContext): { dir: string; servers: readonly McpServerConfig[] }[] {
  return [...new Set([context.workspaceDir, context.repoDir])].map((dir) => {
    if (dir === context.workspaceDir) return { dir, servers: context.config.mcpServers };
    try {
      return { dir, servers: loadOrgConfig(join(dir, CONFIG_FILE_NAME), undefined, { workspaceDir: dir }).mcpServers };
    } catch {
      return { dir, servers: [] };
    }
  });
}

/** Pattern 8: an MCP server restarted more than `supervise.maxRestarts` times in `supervise.window` is held (not restarted again). */
async function runMcpCheck(context: SuperviseContext): Promise<CheckResult> {
  const settings = context.config.supervise;
  const since = context.now() - settings.window;
  const findings: Finding[] = [];
  const held: string[] = [];
  let watched = 0;
  for (const { dir, servers } of serverPlaces(context)) {
    if (servers.length === 0) continue;
    const events = readMcpRestarts(dir, since);
    for (const server of servers) {
      watched += 1;
      const key = `${dir}#${server.name}`;
      const hold = mcpHold(dir, server);
      const mine = events.filter((event) => event.server === server.name);
      if (hold) {
        const honoured = mine.some((event) => event.event === "held" && event.t >= hold.at);
        if (honoured || !mine.some((event) => event.event === "restart" && event.t >= hold.at)) held.push(`${server.name} (held since ${hold.at})`);
        else
          findings.push({
            key,
            title: `MCP server ${server.name} restarting too often`,
            detail: `${server.name} is held since ${hold.at}, but its next restart has not been skipped yet`,
          });
        continue;
      }
      const restarts = mine.filter((event) => event.event === "restart");
      if (restarts.length <= settings.maxRestarts) continue;
      const last = restarts.at(-1)?.reason ?? "no reason given";
      findings.push({
        key,
        title: `MCP server ${server.name} restarting too often`,
        detail:
          `${server.name} (in ${dir}) restarted ${restarts.length} times in ` +
          `${formatDuration(settings.window)} (supervise.maxRestarts ${settings.maxRestarts}); the last: ${last}`,
        fix: {
          action: "hold-mcp-server",
          target: server.name,
          detail: `stop restarting ${server.name} until its entry in mcpServers changes or 'org supervise release ${server.name}'`,
        },
      });
    }
  }
  if (findings.length > 0) return { state: "fail", detail: findings.map((finding) => finding.title).join("; "), findings };
  if (watched === 0) return { state: "off", detail: "no MCP servers in mcpServers", findings: [] };
  return {
    state: held.length > 0 ? "warn" : "ok",
    detail: held.length > 0 ? `held: ${held.join(", ")}` : `${watched} MCP server(s), none restarting too often`,
    findings: [],
  };
}

/** `hold-mcp-server`: the server held wherever it restarts; verified once its connection skips a restart (a later round). */
export const holdMcpServerFix: Fix = {
  announce: true,
  target: "the name of an MCP server in mcpServers: stop restarting it",
  async refuse(target, context) {
    return serverPlaces(context).some(({ servers }) => servers.some((server) => server.name === target))
      ? undefined
      : `there is no MCP server ${JSON.stringify(target.slice(0, 80))} in mcpServers`;
  },
  async apply(target, context) {
    const since = context.now() - context.config.supervise.window;
    const places: string[] = [];
    for (const { dir, servers } of serverPlaces(context)) {
      const server = servers.find((entry) => entry.name === target);
      if (!server) continue;
      const restarts = readMcpRestarts(dir, since).filter((event) => event.server === target && event.event === "restart").length;
      holdMcpServer(dir, server, `${restarts} restarts in ${formatDuration(context.config.supervise.window)}`, new Date(context.now()));
      places.push(dir);
    }
    return { ok: places.length > 0, detail: `held ${target} in ${places.join(", ")}; its next restart is skipped`, verify: "later" };
  },
};

export const mcpCheck: Check = { name: "mcp", run: runMcpCheck, fixes: { "hold-mcp-server": holdMcpServerFix } };
