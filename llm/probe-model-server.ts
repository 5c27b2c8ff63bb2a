import { connectionDetail } from "./chat-errors.ts";
import type { ProbeResult } from "./language-model.ts";
import { requestModelList } from "./list-models.ts";
import { authorizationFor, type ServerKeys } from "./server-keys.ts";
import { serverEndpoint } from "./server-url.ts";

const PROBE_TIMEOUT_MS = 3_000;
const SHOW_TIMEOUT_MS = 5_000;

/**
 * Asks a server for its model list (`GET /v1/models`, with `authorization` when given), as `LanguageModel.probe`
 * does for an HTTP model. Any HTTP answer means something listens there; only a failed connection counts as
 * unreachable, and a server error (5xx) is said as `failing`. The model list is empty when the server has none to
 * say. `server` is reported as org shows it. No answer within `timeoutMs` (3 s unless given) is unreachable.
 */
export async function probeModelServer(
  baseUrl: string,
  options: {
    server: string;
    authorization?: string | undefined;
    signal?: AbortSignal | undefined;
    timeoutMs?: number | undefined;
    anthropic?: boolean | undefined;
  },
): Promise<ProbeResult> {
  const { server, signal } = options;
  const timeoutMs = options.timeoutMs ?? PROBE_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const answer = await requestModelList(baseUrl, {
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      authorization: options.authorization,
      anthropic: options.anthropic,
    });
    // Something listens there; a server error (a proxy's 502 for a server that is gone, a server that fails) serves nothing.
    const failing = answer.status >= 500 ? { failing: `GET ${answer.url} answered HTTP ${answer.status}` } : {};
    // A refused key (Anthropic's 401 authentication_error, a proxy's 403) is said, not taken for a server with no models.
    const refused = answer.status === 401 || answer.status === 403 ? { refused: `GET ${answer.url} answered HTTP ${answer.status}` } : {};
    return { server, reachable: true, models: answer.models ?? [], ...failing, ...refused };
  } catch (error) {
    const detail = timeout.aborted ? `no answer within ${timeoutMs / 1000} s` : connectionDetail(error);
    return { server, reachable: false, error: detail };
  }
}

/**
 * Whether the model can call tools, from Ollama's `POST /api/show` (its `capabilities`); undefined when the
 * server does not say (not Ollama, or an Ollama older than capabilities).
 */
export async function toolCapability(server: string, model: string, keys: ServerKeys, signal: AbortSignal): Promise<boolean | undefined> {
  const endpoint = serverEndpoint(server);
  const header = authorizationFor(keys, server);
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
