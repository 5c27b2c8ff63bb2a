import { candidateStates } from "../fitness/candidate-states.ts";
import { latestReport } from "../fitness/fitness-report.ts";
import { tagTime } from "../git/last-promotion.ts";
import { undonePromotions } from "../git/undone-promotions.ts";
import { type PromotionSetup, promotionContext } from "../cycle/promotion-context.ts";
import { rollback } from "../cycle/rollback.ts";
import { promote, promoteLines, promoteSucceeded } from "../cycle/promote.ts";
import { rebaseOntoMain } from "../cycle/candidate-branches.ts";
import { HttpError } from "../serve/http-error.ts";
import { type Route, route } from "../serve/router.ts";
import type { GateRuns } from "./gate-runs.ts";
import { type CandidateList, webApiSchemas } from "./web-api.ts";
import { refusalsAs409 } from "./refusal-answer.ts";
import type { WebContext } from "./web-routes.ts";
import type { RepoGit } from "../git/repo-git.ts";
import { candidateOrigin, type ToolOrigin } from "../share/tool-origin.ts";

/** A route's `:id` as the branch or tag it names: `cand/<id>`, `promote/<id>` (a UTC time stamp, nothing else). */
function named(prefix: "cand" | "promote", id: string): string {
  if (!/^\d{8}T\d{6}Z(-\d+)?$/.test(id)) throw new HttpError(404, `no ${prefix}/${id.slice(0, 40)}; the view lists what there is.`);
  return `${prefix}/${id}`;
}

/** The candidates with their newest report's checks, the promotions newest first, and the gate runs of this server. */
export async function candidateList(git: RepoGit, gates: Pick<GateRuns, "list">, signal?: AbortSignal): Promise<CandidateList> {
  const rows = await candidateStates(git, signal);
  const undone = await undonePromotions(git, signal);
  const promotions = (await git.promotionTags("promote", signal)).reverse().map((tag) => ({
    tag: tag.name,
    time: tagTime(tag.name)?.toISOString() ?? null,
    tools: rows.find((row) => row.promotion === tag.name)?.tools ?? [],
    rolledBack: undone.has(tag.name),
  }));
  const origins = new Map<string, ToolOrigin | undefined>();
  for (const row of rows) origins.set(row.branch, await candidateOrigin(git, row.branch, signal));
  return {
    candidates: [...rows].reverse().map((row) => ({
      branch: row.branch,
      id: row.branch.slice("cand/".length),
      tools: row.tools,
      state: row.state,
      commit: row.commit,
      builtAt: row.builtAt,
      verdict: row.verdict,
      model: row.model,
      promotion: row.promotion,
      supersededBy: row.supersededBy,
      offer: offerOf(origins.get(row.branch)),
      checks: (latestReport(git.repoDir, row.commit)?.report.checks ?? []).map((check) => ({
        name: `${check.stage}: ${check.name}`,
        ok: check.ok,
        detail: check.reason,
      })),
    })),
    promotions,
    gates: gates.list(),
  };
}

function offerOf(origin: ToolOrigin | undefined): CandidateList["candidates"][number]["offer"] {
  return origin ? { id: origin.offer, signer: origin.signer, fingerprint: origin.fingerprint } : null;
}

/**
 * `GET /v1/candidates`; `POST /v1/candidates/:id/gate` (the fitness gate, in the background), `…/promote` (what `org
 * promote cand/<id>` does, without restarting current: this server takes its checkout's new HEAD at once, so its rooms
 * offer the tool before the answer), `…/rebase` (what `org candidate rebase cand/<id>` does: a rolled-back candidate's
 * tools on a new branch from today's main) and `POST /v1/promotions/:id/rollback` (what `org rollback promote/<id>` does, the
 * same way).
 */
export function candidateRoutes(
  context: WebContext & { git: RepoGit; gates: GateRuns; changed: () => void; share?: PromotionSetup["share"] },
): Route[] {
  const { git, gates } = context;
  // A rollback from the page recalls the tools the person offered, as `org rollback` does (the person's share setup).
  const refChange = (lines: string[], signal: AbortSignal) =>
    promotionContext({ repo: git, log: (line) => lines.push(line), signal, ...(context.share !== undefined ? { share: context.share } : {}) });
  return [
    route("GET", "/v1/candidates", async ({ request }) =>
      Response.json(webApiSchemas().CandidateList.parse(await candidateList(git, gates, request.signal))),
    ),
    route("POST", "/v1/candidates/:id/gate", async ({ params }) => {
      const branch = named("cand", params.id);
      const run = await refusalsAs409(() => gates.start(branch));
      return Response.json(webApiSchemas().ActionAnswer.parse({ ok: true, said: `the gate runs on ${run.branch}` }), { status: 202 });
    }),
    route("POST", "/v1/candidates/:id/promote", async ({ params, request }) => {
      const branch = named("cand", params.id);
      const lines: string[] = [];
      const outcome = await refusalsAs409(() => promote(refChange(lines, request.signal), { branch, restart: false }));
      await context.reloadTools();
      context.changed();
      return Response.json(
        webApiSchemas().ActionAnswer.parse({ ok: promoteSucceeded(outcome), said: [...lines, ...promoteLines(outcome)].join("\n") }),
      );
    }),
    route("POST", "/v1/candidates/:id/rebase", async ({ params, request }) => {
      const branch = named("cand", params.id);
      const outcome = await rebaseOntoMain(git, branch, request.signal);
      if (!outcome.ok) throw new HttpError(409, `refused to rebase ${branch}: ${outcome.refused}`);
      const { rebased } = outcome;
      context.changed();
      return Response.json(
        webApiSchemas().ActionAnswer.parse({
          ok: true,
          said:
            `made ${rebased.branch} (${rebased.commit.slice(0, 12)}) from main ${rebased.main.slice(0, 12)} with ` +
            `${rebased.tools.join(", ")} from ${branch}; ${branch} is unchanged. Run the gate on ${rebased.branch}, then promote it.`,
        }),
      );
    }),
    route("POST", "/v1/promotions/:id/rollback", async ({ params, request }) => {
      const promotionTag = named("promote", params.id);
      const lines: string[] = [];
      const { recovered, result } = await refusalsAs409(() =>
        rollback(refChange(lines, request.signal), { restart: false, target: { promotionTag } }),
      );
      await context.reloadTools();
      context.changed();
      if (recovered)
        return Response.json(
          webApiSchemas().ActionAnswer.parse({
            ok: recovered.outcome === "finished",
            said: `${recovered.op} ${recovered.tag} was interrupted; ${recovered.outcome}: ${recovered.detail}`,
          }),
        );
      if (!result) return Response.json(webApiSchemas().ActionAnswer.parse({ ok: false, said: lines.join("\n") || "nothing was rolled back" }));
      return Response.json(
        webApiSchemas().ActionAnswer.parse({
          ok: true,
          said: [...lines, `rolled back ${result.undoes} (tag ${result.tag})`, result.baseline ?? ""].filter(Boolean).join("\n"),
        }),
      );
    }),
  ];
}
