import { join } from "node:path";
import { requestModelList } from "../llm/list-models.ts";
import { orgInvocation, orgPath } from "./org-invocation.ts";
import { connectionDetail } from "../llm/chat-errors.ts";

/** What a model server said when asked for its models. */
export type ProbeResult =
  | { baseUrl: string; reachable: true; models: string[] }
  | { baseUrl: string; reachable: false; error: string };

const PROBE_TIMEOUT_MS = 3_000;

/**
 * Asks a server for its model list (`GET /v1/models`). Any HTTP answer means something listens there;
 * only a failed connection counts as unreachable. The model list is empty when the server has none to say.
 */
export async function probeModelServer(baseUrl: string, signal?: AbortSignal): Promise<ProbeResult> {
  const timeout = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  try {
    const answer = await requestModelList(baseUrl, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    return { baseUrl, reachable: true, models: answer.models ?? [] };
  } catch (error) {
    const detail = timeout.aborted ? `no answer within ${PROBE_TIMEOUT_MS / 1000} s` : connectionDetail(error);
    return { baseUrl, reachable: false, error: detail };
  }
}

/** The message for a server nobody answers at: the URL, OLLAMA_BASE, and how to use the bundled scripted server. */
export function deadServerMessage(baseUrl: string, detail: string): string {
  return [
    `no model server answers at ${baseUrl} (${detail}).`,
    "  - Start Ollama with 'ollama serve', or set OLLAMA_BASE to a running OpenAI-compatible server",
    "    (or the persona's baseUrl in org.config.json).",
    "  - No model at hand? Start the bundled scripted server instead:",
    `      ${orgInvocation()} scripted-server --port 11434 --script ${orgPath(join("demo", "demo-script.json"))}`,
    `    then run with OLLAMA_BASE=http://127.0.0.1:11434 — or just watch '${orgInvocation()} demo'.`,
  ].join("\n");
}
