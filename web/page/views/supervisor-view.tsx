import { type SupervisorView as Supervisor, webApiSchemas } from "../../web-api.ts";
import { postJson } from "../api.ts";
import { Problem, SaidLine } from "./said-line.tsx";
import { useAction, useView } from "./use-view.ts";

const size = (bytes: number) => (bytes > 1_048_576 ? `${(bytes / 1_048_576).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`);

/** Posts an action's route with its body. */
type Post = (path: string, body: unknown) => void;

/** Each check's state, as its last round left it. */
function ChecksTable({ checks }: { checks: Supervisor["checks"] }) {
  return (
    <table class="checks-table">
      <tbody>
        {checks.map((check) => (
          <tr key={check.name}>
            <th scope="row">{check.name}</th>
            <td class={`state ${check.state}`}>{check.state}</td>
            <td>{check.detail}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** An open incident: what was seen, its fix, and Apply (a fix not applied yet) and Mute. */
function IncidentCard({ incident, post }: { incident: Supervisor["incidents"][number]; post: Post }) {
  const { fix } = incident;
  return (
    <article class="card" aria-label={`incident ${incident.title}`}>
      <div class="card-head">
        <strong>{incident.title}</strong> · {incident.pattern} · seen {incident.seen}×{incident.muted ? " · muted" : ""}
      </div>
      <div>{incident.detail}</div>
      {fix && (
        <div class="muted">
          fix {fix.id}: {fix.action} {fix.target} — {fix.state}: {fix.detail}
        </div>
      )}
      <div class="buttons">
        {fix && fix.state !== "verified" && fix.state !== "applied" && (
          <button type="button" onClick={() => post(`/v1/supervisor/fixes/${fix.id}/apply`, {})}>
            Apply
          </button>
        )}
        {!incident.muted && (
          <button type="button" onClick={() => post("/v1/supervisor/mutes", { pattern: incident.id })}>
            Mute
          </button>
        )}
      </div>
    </article>
  );
}

/** The fixes' lifecycle, and the backups. */
function FixesAndBackups({ data }: { data: Supervisor | undefined }) {
  return (
    <>
      <h2>Fixes</h2>
      {data && data.fixes.length === 0 && (
        <p class="muted">
          No fix yet: when a round finds an incident it knows a fix for, the fix shows here with its steps (proposed, applied, verified);
          Apply on the incident runs it.
        </p>
      )}
      <ul>
        {data?.fixes.map((fix) => (
          <li key={fix.id}>
            {fix.id} {fix.action}: {fix.state} — {fix.detail} {fix.steps.length > 0 ? `(${fix.steps.join(" → ")})` : ""}
          </li>
        ))}
      </ul>
      <h2>Backups</h2>
      {data && data.backups.length === 0 && <p class="muted">No backup yet.</p>}
      <ul>
        {data?.backups.map((backup) => (
          <li key={backup.name}>
            {backup.takenAt} · {size(backup.bytes)} · {backup.name}
          </li>
        ))}
      </ul>
    </>
  );
}

/** Each check's state, the open incidents with their fixes (Apply, Mute), the fixes' lifecycle, and the backups. */
export function SupervisorView() {
  const { data, problem, reload } = useView("supervisor", "/v1/supervisor", webApiSchemas().SupervisorView);
  const { said, run } = useAction();
  const post: Post = (path, body) =>
    run(async () => {
      const answer = await postJson(path, body, webApiSchemas().ActionAnswer);
      reload();
      return answer;
    });
  const supervisor = data?.supervisor;
  return (
    <div class="view">
      <h1>Supervisor</h1>
      <Problem text={problem} />
      <SaidLine said={said} />
      <p class="muted">
        {supervisor ? `supervisor pid ${supervisor.pid} since ${supervisor.since}` : "no supervisor runs (org supervise, or org web --supervise)"}
        {data?.lastRound ? ` · last round ${data.lastRound.at}` : ""}
      </p>
      <h2>Checks</h2>
      {data && data.checks.length === 0 && (
        <p class="muted">
          No check has run yet: each round of org supervise (or org web --supervise) checks the model server, the current instance, disk,
          the sandbox and the rest of its known failures, and each check's state shows here.
        </p>
      )}
      <ChecksTable checks={data?.checks ?? []} />
      <h2>Incidents</h2>
      {data && data.incidents.length === 0 && <p class="muted">No open incident.</p>}
      {data?.incidents.map((incident) => (
        <IncidentCard key={incident.id} incident={incident} post={post} />
      ))}
      <FixesAndBackups data={data} />
    </div>
  );
}
