import { SERVER_URL_KEY } from "../../llm/persona-server.ts";
import { orgInvocation } from "./org-invocation.ts";

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
 * from any directory: the bundled scripted server (the playground: an agent that works on the project, and the
 * toolsmith), and `org <then>` against it with OLLAMA_BASE and OLLAMA_MODEL set. Chat, doctor and tool new all say this.
 */
export function noServerHint(server: string, then = "chat"): string[] {
  const port = standInPort(server);
  const org = orgInvocation();
  return [
    "  - Start Ollama with 'ollama serve', or set OLLAMA_BASE to a running OpenAI-compatible server",
    `    (or the persona's ${SERVER_URL_KEY} in org.config.json).`,
    "  - No model at hand? Start the bundled scripted server instead: its agent looks at your project, runs its tests",
    "    in the sandbox and writes NOTES.md; its toolsmith builds eleven small tools (docs/models.md says what else it does):",
    `      ${org} scripted-server --port ${port} --script playground`,
    "    then, in another terminal:",
    `      OLLAMA_BASE=http://127.0.0.1:${port} OLLAMA_MODEL=scripted ${org} ${then}`,
    `    — or just watch '${org} demo'.`,
  ];
}

/** The message for a server nobody answers at: the URL and why, then `noServerHint`. */
export function deadServerMessage(server: string, detail: string, then = "chat"): string {
  return [`no model server answers at ${server} (${detail}).`, ...noServerHint(server, then)].join("\n");
}
