import { webApiSchemas } from "../../web-api.ts";
import { postJson } from "../api.ts";
import { Problem, SaidLine } from "./said-line.tsx";
import { useAction, useView } from "./use-view.ts";

/** The cand/* branches with their state, the gate's stages and verdict, Run gate, Promote, Roll back; the promotions. */
export function CandidatesView() {
  const { data, problem, reload } = useView("candidates", "/v1/candidates", webApiSchemas().CandidateList);
  const { said, run } = useAction();
  const act = (path: string, question: string) => run(async () => {
    const answer = await postJson(path, {}, webApiSchemas().ActionAnswer);
    reload();
    return answer;
  }, question);
  return (
    <div class="view">
      <h1>Candidates</h1>
      <Problem text={problem} />
      <SaidLine said={said} />
      {data && data.candidates.length === 0 && <p class="muted">No cand/* branch; the toolsmith makes one when it builds a tool.</p>}
      {data?.candidates.map((candidate) => {
        const gate = data.gates.find((entry) => entry.branch === candidate.branch);
        return (
          <article key={candidate.branch} class="card" aria-label={`candidate ${candidate.branch}`}>
            <div class="card-head">
              <strong>{candidate.branch}</strong> · {candidate.tools.join(", ") || "no tools"} · <span class={`state ${candidate.state}`}>{candidate.state}</span>
              {candidate.verdict ? ` · verdict ${candidate.verdict}` : ""}
            </div>
            <div class="muted">
              built {candidate.builtAt}
              {candidate.model ? ` by ${candidate.model}` : ""} · {candidate.commit.slice(0, 12)}
              {candidate.promotion ? ` · ${candidate.promotion}` : ""}
              {candidate.supersededBy ? ` · superseded by ${candidate.supersededBy}` : ""}
              {candidate.offer ? ` · offered by ${candidate.offer.signer} (${candidate.offer.fingerprint}), offer ${candidate.offer.id}` : ""}
            </div>
            {gate && (
              <section class="gate" aria-label={`gate run on ${candidate.branch}`}>
                <strong>Gate {gate.state === "running" ? "running" : gate.state === "done" ? "done" : "failed"}</strong>
                {gate.verdict ? ` · verdict ${gate.verdict}` : ""} — {gate.said}
                <ol>
                  {gate.stages.map((stage) => (
                    <li key={stage.stage} class={stage.ok ? "ok" : "bad"}>
                      {stage.stage}: {stage.ok ? "ok" : "failed"} — {stage.detail}
                    </li>
                  ))}
                </ol>
              </section>
            )}
            {candidate.checks.length > 0 && (
              <details>
                <summary>Gate stages of the newest report ({candidate.checks.filter((check) => check.ok).length} of {candidate.checks.length} passed)</summary>
                <ol class="checks">
                  {candidate.checks.map((check, index) => (
                    <li key={`${index}`} class={check.ok ? "ok" : "bad"}>
                      {check.ok ? "✓" : "✗"} {check.name} — {check.detail}
                    </li>
                  ))}
                </ol>
              </details>
            )}
            {candidate.state === "rolled-back" && (
              <p class="muted">Rolled back, so it cannot be promoted again; Rebase makes a new candidate from today's main with its tools, to gate and promote.</p>
            )}
            <div class="buttons">
              {candidate.state === "rolled-back" ? (
                <button type="button" onClick={() => act(`/v1/candidates/${candidate.id}/rebase`, `Make a new candidate from today's main with ${candidate.branch}'s tools?`)}>
                  Rebase
                </button>
              ) : (
                <>
                  <button type="button" onClick={() => act(`/v1/candidates/${candidate.id}/gate`, `Run the fitness gate on ${candidate.branch}?`)}>
                    Run gate
                  </button>
                  {candidate.state !== "promoted" && (
                    <button type="button" onClick={() => act(`/v1/candidates/${candidate.id}/promote`, `Promote ${candidate.branch} into main?`)}>
                      Promote
                    </button>
                  )}
                </>
              )}
            </div>
          </article>
        );
      })}
      <h2>Promotions</h2>
      {data && data.promotions.length === 0 && <p class="muted">Nothing was promoted yet.</p>}
      <ul class="promotions">
        {data?.promotions.map((promotion) => (
          <li key={promotion.tag}>
            <strong>{promotion.tag}</strong> {promotion.tools.join(", ")} {promotion.rolledBack ? "· rolled back" : ""}
            {!promotion.rolledBack && (
              <button type="button" onClick={() => act(`/v1/promotions/${promotion.tag.slice("promote/".length)}/rollback`, `Roll back ${promotion.tag}?`)}>
                Roll back
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}
