import type { OrgConfig, PersonaConfig } from "../../config/org-config.ts";
import { builtInTools } from "../../assembly/room-tools.ts";
import type { ProbeResult } from "../../llm/language-model.ts";
import { describeWindow, type ModelWindow } from "../../llm/model-window.ts";
import { TokenEstimator, toolChars } from "../../llm/token-estimate.ts";
import { createPersona } from "../../personas/create-persona.ts";
import { identityLines } from "../../personas/persona-identity.ts";
import { httpModels, type ModelFactory } from "../../personas/persona-model.ts";
import type { DoctorCheck } from "./doctor-checks.ts";

/** A persona's window as `org doctor --json` gives it: the window, and the tokens its system prompt and built-in tools take. */
export type DoctorWindow = ModelWindow & { systemAndToolsTokens: number };

/**
 * Each persona's window (asked of its server, as a reply would) and where it came from, in the config's order: a
 * warning where org could not learn it (the stated default) or where the persona's system prompt and the built-in tools
 * it is offered take more than half of it. A persona whose server does not answer is left to its model's check.
 */
export async function windowChecks(
  config: OrgConfig,
  probes: readonly ProbeResult[],
  signal: AbortSignal,
  models: ModelFactory = httpModels(config),
): Promise<(DoctorCheck & { window?: DoctorWindow })[]> {
  const tools = builtInTools({ config });
  const names = config.personas.map((persona) => persona.name);
  const estimator = new TokenEstimator();
  const answering = config.personas.filter((persona) => probes.some((probe) => probe.server === persona.server && probe.reachable));
  return Promise.all(
    answering.map(async (persona) => {
      const model = models(persona);
      const window = await model.window(signal);
      const offered = tools.filter((tool) => offers(persona, tool.name)).map((tool) => tool.definition);
      // With its identity lines, as a reply's prompt has them (the profile, a workspace's, is left out here).
      const identity = identityLines({
        modelId: model.modelId,
        server: model.server,
        window,
        tools: offered.map((tool) => ({ name: tool.function.name, policy: persona.tools[tool.function.name] })),
        maxRounds: config.limits.toolRoundsPerTurn,
        maxToolCalls: config.limits.toolCallsPerReply,
        toolSeconds: config.limits.toolSecondsPerTurn,
        secrets: config.secrets,
      });
      const system = createPersona(persona, model).systemPrompt(names, { identity });
      const taken = estimator.messagesTokens(model.modelId, [{ role: "system", content: system }], toolChars(offered));
      return windowCheck(persona, { ...window, systemAndToolsTokens: taken });
    }),
  );
}

const offers = (persona: PersonaConfig, tool: string) => persona.tools[tool] === "allow" || persona.tools[tool] === "ask";

/** The check for one persona's window: ok, or a warning with what to change. */
export function windowCheck(persona: Pick<PersonaConfig, "name">, window: DoctorWindow): DoctorCheck & { window: DoctorWindow } {
  const name = `${persona.name}'s window`;
  const taken = `its system prompt and tools take about ${window.systemAndToolsTokens} tokens`;
  if (window.systemAndToolsTokens * 2 > window.tokens) {
    return {
      name,
      status: "warn",
      detail: `${describeWindow(window)}; ${taken}, more than half of it: little is left for the conversation`,
      fix:
        `give the model a larger window (the server's context size, or personas[].maxContextTokens on Ollama), ` +
        `or offer ${persona.name} fewer tools (personas[].tools)`,
      window,
    };
  }
  if (window.source === "default") {
    return {
      name,
      status: "warn",
      detail: `${describeWindow(window)}; ${taken}`,
      fix: `set personas[].contextTokens in org.config.json to the window the server runs ${persona.name}'s model with`,
      window,
    };
  }
  return { name, status: "ok", detail: `${describeWindow(window)}; ${taken}`, window };
}
