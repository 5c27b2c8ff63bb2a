import { canAccept, canReject, decideProposal } from "../grow/proposal-decision.ts";
import { readGrowReport, reportIds, summaryLine } from "../grow/grow-report.ts";
import { readGrowState } from "../grow/grow-state.ts";
import { type Route, route } from "../serve/router.ts";
import { type GrowthView, webApiSchemas } from "./web-api.ts";
import { refusalsAs409 } from "./refusal-answer.ts";
import type { WebContext } from "./web-routes.ts";

/** Reports the view shows: the newest runs. */
const RUNS_SHOWN = 10;

/** The proposals (most needed first) with their evidence and whose words it was, and the last runs with their budget. */
export function growthView(workspaceDir: string): GrowthView {
  const { proposals } = readGrowState(workspaceDir);
  const runs = reportIds(workspaceDir)
    .slice(-RUNS_SHOWN)
    .reverse()
    .flatMap((id) => {
      const report = readGrowReport(workspaceDir, id);
      return report
        ? [{ id, startedAt: report.startedAt, summary: summaryLine(report), tokens: report.budget.tokens, modelMs: report.budget.modelMs }]
        : [];
    });
  return {
    proposals: [...proposals]
      .sort((a, b) => b.count - a.count || b.lastSeen.localeCompare(a.lastSeen))
      .map((proposal) => ({
        id: proposal.id,
        goal: proposal.goal,
        state: proposal.state,
        kind: proposal.kind,
        count: proposal.count,
        sessions: proposal.sessions,
        tool: proposal.tool ?? proposal.coveredBy ?? null,
        offer: proposal.offer ?? null,
        evidence: proposal.evidence.map((evidence) => ({ quote: evidence.quote, source: evidence.source ?? "unknown", session: evidence.session })),
        canAccept: canAccept(proposal.state),
        canReject: canReject(proposal.state),
      })),
    runs,
  };
}

/** `GET /v1/growth`, `POST /v1/growth/proposals/:id/accept` and `…/reject`: what `org grow accept|reject` do. */
export function growthRoutes(context: WebContext): Route[] {
  return [
    route("GET", "/v1/growth", () => Response.json(webApiSchemas().GrowthView.parse(growthView(context.workspaceDir)))),
    route("POST", "/v1/growth/proposals/:id/:verb", async ({ params }) => {
      const verb = params.verb === "accept" || params.verb === "reject" ? params.verb : undefined;
      if (verb === undefined) return Response.json({ error: { status: 404, message: "say accept or reject" } }, { status: 404 });
      const said = await refusalsAs409(() => decideProposal(context.workspaceDir, params.id, verb, "org web"));
      return Response.json(webApiSchemas().ActionAnswer.parse({ ok: true, said }));
    }),
  ];
}
