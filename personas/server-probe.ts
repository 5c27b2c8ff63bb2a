import type { OrgConfig, PersonaConfig } from "../config/org-config.ts";
import type { ProbeResult } from "../llm/language-model.ts";
import { httpModels } from "./persona-model.ts";

/**
 * Each server the personas use, probed once (in the order the personas name them) through the first persona's model on
 * it, with its key; a server silent for `timeoutMs` (the probe's own bound unless given) is unreachable.
 */
export async function probeServers(config: OrgConfig, signal: AbortSignal, timeoutMs?: number): Promise<ProbeResult[]> {
  const models = httpModels(config);
  const onServer = new Map<string, PersonaConfig>();
  for (const persona of config.personas) if (!onServer.has(persona.server)) onServer.set(persona.server, persona);
  return await Promise.all([...onServer.values()].map((persona) => models(persona).probe(signal, timeoutMs)));
}

/** Whether a server's list has `model` (Ollama finds `name` as `name:latest`). */
export function hasModel(available: readonly string[], model: string): boolean {
  return available.includes(model) || available.includes(`${model}:latest`);
}

/**
 * One line per persona whose server answered with a model list that lacks its model: the persona, the model,
 * where the model was set, and what the server has. Servers that list nothing are not judged.
 */
export function missingModelMessages(
  personas: readonly { name: string; model: string; server: string; modelSource?: string }[],
  results: readonly ProbeResult[],
): string[] {
  const messages: string[] = [];
  for (const persona of personas) {
    const result = results.find((entry) => entry.server === persona.server);
    if (!result?.reachable || result.models.length === 0 || hasModel(result.models, persona.model)) continue;
    messages.push(
      `${persona.name}'s model "${persona.model}"${
        persona.modelSource ? ` (from ` + `${persona.modelSource})` : ""
      } is not on ${persona.server}; it has: ${result.models.join(", ")}. Pull it (ollama pull ` +
        `${persona.model}), or pick one with --model or /use ${persona.name} MODEL.`,
    );
  }
  return messages;
}
