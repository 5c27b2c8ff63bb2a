import { growPause, pauseGrow, resumeGrow } from "../grow/grow-pause.ts";
import { missingModelMessages, probeServers } from "../personas/server-probe.ts";
import type { Check, CheckResult, Fix, Finding, SuperviseContext } from "./supervise-check.ts";

/** Who pauses grow runs, as grow/grow-pause.ts records it; only such a pause is lifted when the server is back. */
export const PAUSED_BY = "org supervise";

/** Pattern 2: each persona's model server answers (not with a server error), and has the persona's model. */
async function runModelServerCheck(context: SuperviseContext): Promise<CheckResult> {
  const { personas } = context.config;
  const results = await probeServers(context.config, context.signal, context.probeTimeoutMs);
  const paused = growPause(context.workspaceDir) !== undefined;
  const pause = (why: string): Finding["fix"] =>
    paused ? undefined : { action: "pause-grow", target: "grow", detail: `pause unattended grow runs: ${why}` };
  const findings: Finding[] = [];
  const personasOn = (server: string) =>
    personas
      .filter((persona) => persona.server === server)
      .map((persona) => persona.name)
      .join(", ");
  for (const result of results) {
    if (!result.reachable) {
      findings.push({
        key: result.server,
        title: `model server ${result.server} unreachable`,
        detail: `no model server answers at ${result.server} (${result.error}); personas there: ${personasOn(result.server)}`,
        fix: pause(`${result.server} does not answer`),
      });
      continue;
    }
    if (result.failing !== undefined) {
      findings.push({
        key: result.server,
        title: `model server ${result.server} failing`,
        detail: `${result.server} answers, but with a server error (${result.failing}); personas there: ${personasOn(result.server)}`,
        fix: pause(`${result.server} answers with server errors`),
      });
      continue;
    }
    const missing = missingModelMessages(
      personas.filter((persona) => persona.server === result.server),
      [result],
    );
    if (missing.length > 0)
      findings.push({
        // One key per server for both kinds: a model missing, then the server gone, is one outage that changed its kind.
        key: result.server,
        title: `a model missing on ${result.server}`,
        detail: missing.join(" "),
        fix: pause(`a persona's model is missing on ${result.server}`),
      });
  }
  if (findings.length > 0) return { state: "fail", detail: findings.map((finding) => finding.title).join("; "), findings };
  const listed = results.map((result) => `${result.server} (${result.reachable ? `${result.models.length} models` : "?"})`).join(", ");
  return { state: "ok", detail: `answers: ${listed}; every persona's model is there`, findings: [] };
}

/** Once no server problem is left, the pause this check made is lifted. */
async function modelServerResolved(_incident: unknown, context: SuperviseContext): Promise<string | undefined> {
  if (context.state.openIncidents("model-server").length > 0) return undefined;
  if (growPause(context.workspaceDir)?.by !== PAUSED_BY) return undefined;
  resumeGrow(context.workspaceDir);
  return "unattended grow runs resumed";
}

/** `pause-grow`: unattended grow runs of the workspace wait (grow/grow-pause.ts) until the supervisor lifts it. */
export const pauseGrowFix: Fix = {
  target: '"grow": pause unattended grow runs',
  refuse: async (target) => (target === "grow" ? undefined : `pause-grow takes the target "grow", not ${JSON.stringify(target.slice(0, 80))}`),
  async apply(_target, context) {
    const open = context.state.openIncidents("model-server").map((incident) => incident.title);
    const pause = pauseGrow(context.workspaceDir, open.join("; ") || "paused by org supervise", PAUSED_BY, new Date(context.now()));
    const paused = growPause(context.workspaceDir);
    return paused
      ? {
          ok: true,
          detail: `unattended grow runs paused since ${pause.since} (.org/grow/paused.json); resumed when the server is back`,
          verify: "self",
        }
      : { ok: false, detail: "the pause could not be written" };
  },
};

export const modelServerCheck: Check = {
  name: "model-server",
  run: runModelServerCheck,
  resolved: modelServerResolved,
  // A server back is news a person waits for (grow resumes with it): probed every few seconds while it is away.
  watchWhileOpen: true,
  fixes: { "pause-grow": pauseGrowFix },
};
