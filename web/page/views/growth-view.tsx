import { webApiSchemas } from "../../web-api.ts";
import { postJson } from "../api.ts";
import { Problem, SaidLine } from "./said-line.tsx";
import { useAction, useView } from "./use-view.ts";

/** org grow's proposals with their evidence (whose words: user, persona, tool), Accept and Reject; the last runs. */
export function GrowthView() {
  const { data, problem, reload } = useView("growth", "/v1/growth", webApiSchemas().GrowthView);
  const { said, run } = useAction();
  const decide = (id: string, verb: "accept" | "reject") =>
    run(async () => {
      const answer = await postJson(`/v1/growth/proposals/${id}/${verb}`, {}, webApiSchemas().ActionAnswer);
      reload();
      return answer;
    });
  return (
    <div class="view">
      <h1>Growth</h1>
      <Problem text={problem} />
      <SaidLine said={said} />
      <h2>Proposals</h2>
      {data && data.proposals.length === 0 && <p class="muted">org grow has proposed nothing yet.</p>}
      {data?.proposals.map((proposal) => (
        <article key={proposal.id} class="card" aria-label={`proposal ${proposal.id}`}>
          <div class="card-head">
            <strong>{proposal.goal}</strong>
          </div>
          <div class="muted">
            {proposal.id} · <span class={`state ${proposal.state}`}>{proposal.state}</span> · {proposal.kind} · seen {proposal.count}× in{" "}
            {proposal.sessions} session(s){proposal.tool ? ` · ${proposal.tool}` : ""}
          </div>
          {proposal.offer && (
            <div class="muted">
              covered by {proposal.offer.signer}'s offer {proposal.offer.id} of {proposal.offer.tool}: run <code>{proposal.offer.run}</code>
            </div>
          )}
          <ul class="evidence">
            {proposal.evidence.map((evidence, index) => (
              <li key={`${index}`}>
                <span class={`source ${evidence.source}`}>{evidence.source}</span> “{evidence.quote}”
              </li>
            ))}
          </ul>
          <div class="buttons">
            {proposal.canAccept && (
              <button type="button" onClick={() => decide(proposal.id, "accept")}>
                Accept
              </button>
            )}
            {proposal.canReject && (
              <button type="button" onClick={() => decide(proposal.id, "reject")}>
                Reject
              </button>
            )}
          </div>
        </article>
      ))}
      <h2>Runs</h2>
      {data && data.runs.length === 0 && <p class="muted">No grow run yet.</p>}
      <ul>
        {data?.runs.map((entry) => (
          <li key={entry.id}>
            <strong>{entry.startedAt}</strong> {entry.summary} · model time {(entry.modelMs / 1000).toFixed(1)} s
          </li>
        ))}
      </ul>
    </div>
  );
}
