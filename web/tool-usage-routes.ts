import type { OrgConfig } from "../config/org-config.ts";
import { generatedToolFolders } from "../config/tool-names.ts";
import { offerToAgents } from "../generated-tools/promoted-tools.ts";
import { RepoGit } from "../git/repo-git.ts";
import { type Route, route } from "../serve/router.ts";
import { type ToolOrigin, toolOrigins } from "../share/tool-origin.ts";
import { judgesTool, readToolCalls, type ToolCall } from "../usage/tool-calls.ts";
import { toolStatsOf } from "../usage/tool-stats.ts";
import { type ToolUsageList, type ToolFigures, webApiSchemas } from "./web-api.ts";
import type { WebContext } from "./web-routes.ts";

const DAY_MS = 24 * 60 * 60 * 1000;
/** Days the chart shows, ending today (UTC). */
const CHART_DAYS = 14;

/** Each of the last CHART_DAYS days (UTC), oldest first, with the tool's calls and failures (its own, as grow judges them). */
function perDay(calls: readonly ToolCall[], now: number): ToolFigures["days"] {
  const today = Math.floor(now / DAY_MS);
  const days = Array.from({ length: CHART_DAYS }, (_, index) => ({
    day: new Date((today - CHART_DAYS + 1 + index) * DAY_MS).toISOString().slice(0, 10),
    calls: 0,
    failures: 0,
  }));
  for (const call of calls) {
    const entry = days[Math.floor(call.t / DAY_MS) - (today - CHART_DAYS + 1)];
    if (!entry) continue;
    entry.calls += 1;
    if (!call.ok && judgesTool(call)) entry.failures += 1;
  }
  return days;
}

/** The personas a promoted tool is offered to, with their policy for it: agents ask first unless their config says. */
function offeredTo(config: OrgConfig, names: readonly string[], tool: string): ToolFigures["offeredTo"] {
  return offerToAgents(config.personas, names).flatMap((persona) => {
    const policy = persona.tools[tool];
    return policy === "allow" || policy === "ask" ? [{ persona: persona.name, policy }] : [];
  });
}

/** The promoted tools of the checkout with their calls (as `org tool stats` reads them), whom they are offered to, and a chart's days. */
export function toolUsage(
  checkoutDir: string,
  config: OrgConfig,
  now = Date.now(),
  origins: ReadonlyMap<string, ToolOrigin> = new Map(),
): ToolUsageList {
  const calls = readToolCalls(checkoutDir);
  const promoted = generatedToolFolders(checkoutDir).names;
  const stats = toolStatsOf(calls, now, promoted);
  return {
    tools: stats.map((entry) => ({
      name: entry.tool,
      calls: entry.calls,
      ok: entry.ok,
      failed: entry.failed,
      successRate: entry.successRate ?? null,
      trust: entry.trust ?? null,
      lastCall: entry.lastCall ?? null,
      promoted: promoted.includes(entry.tool),
      offeredTo: promoted.includes(entry.tool) ? offeredTo(config, promoted, entry.tool) : [],
      origin: originOf(promoted.includes(entry.tool) ? origins.get(entry.tool) : undefined),
      days: perDay(
        calls.filter((call) => call.tool === entry.tool),
        now,
      ),
    })),
  };
}

function originOf(origin: ToolOrigin | undefined): ToolFigures["origin"] {
  return origin ? { offer: origin.offer, signer: origin.signer, fingerprint: origin.fingerprint } : null;
}

/** `GET /v1/tool-usage`: with where each promoted tool came from (a teammate's offer, `share/tool-origin.ts`). */
export function toolUsageRoutes(context: WebContext): Route[] {
  return [
    route("GET", "/v1/tool-usage", async ({ request }) => {
      const promoted = generatedToolFolders(context.checkoutDir).names;
      const origins = await toolOrigins(new RepoGit(context.checkoutDir), promoted, request.signal);
      return Response.json(webApiSchemas().ToolUsageList.parse(toolUsage(context.checkoutDir, context.config, Date.now(), origins)));
    }),
  ];
}
