import { type FixRow, type IncidentRow, SupervisorState } from "./supervisor-state.ts";
import { contextOf, type SupervisorSetup, waitForRoundLock } from "./supervisor.ts";
import { applyFixById } from "./apply-fix.ts";

/**
 * A person's `apply` of a proposed (or failed) fix: under the round lock (`who` names the holder), applied, verified
 * and each step recorded. `org supervise apply ID` and the web room's Apply both run it.
 */
export async function applyFixNow(
  setup: SupervisorSetup,
  id: string,
  who: string,
): Promise<{ fix: FixRow; incident: IncidentRow; steps: ReturnType<SupervisorState["fixEvents"]> }> {
  const state = SupervisorState.open(setup.workspaceDir);
  const release = await waitForRoundLock(setup.workspaceDir, `${who} ${id.slice(0, 20)} (pid ${process.pid})`, setup.signal);
  try {
    const { fix, incident } = await applyFixById(contextOf(setup, state, setup.loadConfig()), id);
    return { fix, incident, steps: state.fixEvents(fix.id) };
  } finally {
    release();
    state.close();
  }
}
