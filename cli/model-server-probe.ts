import { join } from "node:path";
import { SERVER_URL_KEY } from "../llm/persona-server.ts";
import type { OrgConfig, PersonaConfig } from "../config/org-config.ts";
import type { ProbeResult } from "../llm/language-model.ts";
import { httpModels } from "../models/persona-model.ts";
import { orgInvocation, orgPath } from "./org-invocation.ts";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

/**
 * Where the bundled scripted server should listen to stand in for `server`: that port when `server` is a
 * loopback address, else Ollama's 11434 (and the hint then sets OLLAMA_BASE to it).
 */
function standInPort(server: string): number {
  try {
    const url = new URL(server);
    if (LOOPBACK.has(url.hostname) && url.protocol === "http:") return Number(url.port || 80);
  } catch {
    // Not a URL: the default port.
  }
  return 11434;
}

/**
 * What to do when nobody answers at `server`, one line each: OLLAMA_BASE, and two commands that work as printed,
 * from any directory: the bundled scripted server (the demo's personas and the scripted toolsmith), and `org
 * <then>` against it with OLLAMA_BASE and OLLAMA_MODEL set. Chat, doctor and tool new all say this.
 */
export function noServerHint(server: string, then = "chat"): string[] {
  const port = standInPort(server);
  const org = orgInvocation();
  const scripts = ["demo-script.json", "toolsmith-script.json"].map((file) => `--script ${orgPath(join("demo", file))}`).join(" ");
  return [
    "  - Start Ollama with 'ollama serve', or set OLLAMA_BASE to a running OpenAI-compatible server",
    `    (or the persona's ${SERVER_URL_KEY} in org.config.json).`,
    "  - No model at hand? Start the bundled scripted server instead (it plays the personas, and the toolsmith for ten small tools):",
    `      ${org} scripted-server --port ${port} ${scripts}`,
    "    then, in another terminal:",
    `      OLLAMA_BASE=http://127.0.0.1:${port} OLLAMA_MODEL=scripted ${org} ${then}`,
    `    — or just watch '${org} demo'.`,
  ];
}

/** Each server the personas use, probed once (in the order the personas name them) through the first persona's model on it, with its key. */
export async function probeServers(config: OrgConfig, signal: AbortSignal): Promise<ProbeResult[]> {
  const models = httpModels(config);
  const onServer = new Map<string, PersonaConfig>();
  for (const persona of config.personas) if (!onServer.has(persona.server)) onServer.set(persona.server, persona);
  return await Promise.all([...onServer.values()].map((persona) => models(persona).probe(signal)));
}

/** The message for a server nobody answers at: the URL and why, then `noServerHint`. */
export function deadServerMessage(server: string, detail: string, then = "chat"): string {
  return [`no model server answers at ${server} (${detail}).`, ...noServerHint(server, then)].join("\n");
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
      `${persona.name}'s model "${persona.model}"${persona.modelSource ? ` (from ${persona.modelSource})` : ""} is not on ${persona.server}; it has: ${result.models.join(", ")}. Pull it (ollama pull ${persona.model}), or pick one with --model or /use ${persona.name} MODEL.`,
    );
  }
  return messages;
}
