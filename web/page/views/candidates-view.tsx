import { type CandidateList, type CandidateView, type GateRun, webApiSchemas } from "../../web-api.ts";
import { postJson } from "../api.ts";
import { Problem, SaidLine } from "./said-line.tsx";
import { useAction, useView } from "./use-view.ts";

/** Posts an action's route after the person confirmed `question`. */
type Act = (path: string, question: string) => void;

/** A gate run on a candidate: its state, verdict and stages. */
function GateRunSection({ branch, gate }: { branch: string; gate: GateRun }) {
  return (
    <section class="gate" aria-label={`gate run on ${branch}`}>
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
  );
}

/** The newest signed report's checks, folded. */
function ReportChecks({ checks }: { checks: CandidateView["checks"] }) {
  const passed = checks.filter((check) => check.ok).length;
  return (
    <details>
      <summary>
        Gate stages of the newest report ({passed} of {checks.length} passed)
      </summary>
      <ol class="checks">
        {checks.map((check, index) => (
          <li key={`${index}`} class={check.ok ? "ok" : "bad"}>
            {check.ok ? "✓" : "✗"} {check.name} — {check.detail}
          </li>
        ))}
      </ol>
    </details>
  );
}

/** What a person may do with a candidate now: Rebase one rolled back; else Run gate, and Promote one not promoted. */
function CandidateButtons({ candidate, act }: { candidate: CandidateView; act: Act }) {
  const route = (action: string) => `/v1/candidates/${candidate.id}/${action}`;
  if (candidate.state === "rolled-back")
    return (
      <div class="buttons">
        <button type="button" onClick={() => act(route("rebase"), `Make a new candidate from today's main with ${candidate.branch}'s tools?`)}>
          Rebase
        </button>
      </div>
    );
  return (
    <div class="buttons">
      <button type="button" onClick={() => act(route("gate"), `Run the fitness gate on ${candidate.branch}?`)}>
        Run gate
      </button>
      {candidate.state !== "promoted" && (
        <button type="button" onClick={() => act(route("promote"), `Promote ${candidate.branch} into main?`)}>
          Promote
        </button>
      )}
    </div>
  );
}

/** One cand/* branch: its tools, state and verdict, where it came from, its gate run and report, and its actions. */
function CandidateCard({ candidate, gate, act }: { candidate: CandidateView; gate: GateRun | undefined; act: Act }) {
  return (
    <article class="card" aria-label={`candidate ${candidate.branch}`}>
      <div class="card-head">
        <strong>{candidate.branch}</strong> · {candidate.tools.join(", ") || "no tools"} ·{" "}
        <span class={`state ${candidate.state}`}>{candidate.state}</span>
        {candidate.verdict ? ` · verdict ${candidate.verdict}` : ""}
      </div>
      <div class="muted">
        built {candidate.builtAt}
        {candidate.model ? ` by ${candidate.model}` : ""} · {candidate.commit.slice(0, 12)}
        {candidate.promotion ? ` · ${candidate.promotion}` : ""}
        {candidate.supersededBy ? ` · superseded by ${candidate.supersededBy}` : ""}
        {candidate.offer ? ` · offered by ${candidate.offer.signer} (${candidate.offer.fingerprint}), offer ${candidate.offer.id}` : ""}
      </div>
      {gate && <GateRunSection branch={candidate.branch} gate={gate} />}
      {candidate.checks.length > 0 && <ReportChecks checks={candidate.checks} />}
      {candidate.state === "rolled-back" && (
        <p class="muted">
          Rolled back, so it cannot be promoted again; Rebase makes a new candidate from today's main with its tools, to gate and promote.
        </p>
      )}
      <CandidateButtons candidate={candidate} act={act} />
    </article>
  );
}

/** The promotions, each with Roll back until it was rolled back. */
function Promotions({ promotions, act }: { promotions: CandidateList["promotions"]; act: Act }) {
  const rollback = (tag: string) => `/v1/promotions/${tag.slice("promote/".length)}/rollback`;
  return (
    <ul class="promotions">
      {promotions.map((promotion) => (
        <li key={promotion.tag}>
          <strong>{promotion.tag}</strong> {promotion.tools.join(", ")} {promotion.rolledBack ? "· rolled back" : ""}
          {!promotion.rolledBack && (
            <button type="button" onClick={() => act(rollback(promotion.tag), `Roll back ${promotion.tag}?`)}>
              Roll back
            </button>
          )}
        </li>
      ))}
    </ul>
  );
}

/** The cand/* branches with their state, the gate's stages and verdict, Run gate, Promote, Roll back; the promotions. */
export function CandidatesView() {
  const { data, problem, reload } = useView("candidates", "/v1/candidates", webApiSchemas().CandidateList);
  const { said, run } = useAction();
  const act: Act = (path, question) =>
    run(async () => {
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
      {data?.candidates.map((candidate) => (
        <CandidateCard
          key={candidate.branch}
          candidate={candidate}
          gate={data.gates.find((entry) => entry.branch === candidate.branch)}
          act={act}
        />
      ))}
      <h2>Promotions</h2>
      {data && data.promotions.length === 0 && <p class="muted">Nothing was promoted yet.</p>}
      <Promotions promotions={data?.promotions ?? []} act={act} />
    </div>
  );
}
