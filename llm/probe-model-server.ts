import { connectionDetail } from "./chat-errors.ts";
import { requestModelList } from "./list-models.ts";
import { serverEndpoint } from "./server-url.ts";

/** What a model server said when asked for its models; `server` is the URL as org shows it. */
export type ProbeResult = { server: string; reachable: true; models: string[] } | { server: string; reachable: false; error: string };

const PROBE_TIMEOUT_MS = 3_000;
const SHOW_TIMEOUT_MS = 5_000;

/**
 * Asks a server for its model list (`GET /v1/models`). Any HTTP answer means something listens there;
 * only a failed connection counts as unreachable. The model list is empty when the server has none to say.
 */
export async function probeModelServer(server: string, signal?: AbortSignal): Promise<ProbeResult> {
  const timeout = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  try {
    const answer = await requestModelList(server, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    return { server, reachable: true, models: answer.models ?? [] };
  } catch (error) {
    const detail = timeout.aborted ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s` : connectionDetail(error);
    return { server, reachable: false, error: detail };
  }
}

/**
 * Whether the model can call tools, from Ollama's `POST /api/show` (its `capabilities`); undefined when the
 * server does not say (not Ollama, or an Ollama older than capabilities).
 */
export async function toolCapability(server: string, model: string, authorization: string | undefined, signal: AbortSignal): Promise<boolean | undefined> {
  const endpoint = serverEndpoint(server);
  const header = endpoint.authorization ?? authorization;
  try {
    const response = await fetch(new URL("/api/show", endpoint.url), {
      method: "POST",
      headers: { "content-type": "application/json", ...(header ? { authorization: header } : {}) },
      body: JSON.stringify({ model }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(SHOW_TIMEOUT_MS)]),
    });
    if (!response.ok) return undefined;
    const body: unknown = await response.json();
    const capabilities = typeof body === "object" && body !== null && "capabilities" in body ? body.capabilities : undefined;
    return Array.isArray(capabilities) ? capabilities.includes("tools") : undefined;
  } catch {
    return undefined;
  }
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
