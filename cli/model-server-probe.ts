import { join } from "node:path";
import { SERVER_URL_KEY } from "../llm/persona-server.ts";
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

/** The message for a server nobody answers at: the URL and why, then `noServerHint`. */
export function deadServerMessage(server: string, detail: string, then = "chat"): string {
  return [`no model server answers at ${server} (${detail}).`, ...noServerHint(server, then)].join("\n");
}
