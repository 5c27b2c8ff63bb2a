import { scriptFiles } from "../scripted-server/bundled-scripts.ts";
import { loadScript, mergeScripts } from "../scripted-server/script.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { withoutDelays } from "../scripted-server/without-delays.ts";
import { type Command, UsageError } from "./command/command.ts";
import { nameAndSummary } from "./command/command-summaries.ts";
import { parseCommandArgs } from "./command/parse-command-args.ts";
import { errorCode } from "../concurrency/error-code.ts";
import { OrgError } from "../errors/org-error.ts";

const help = `Usage: org scripted-server --script FILE|NAME [--script FILE|NAME …] [--port N] [--host ADDRESS] [--no-delays]
                          [--context-tokens N [--context-overflow refuse|drop]] [--ollama]

Runs a scripted OpenAI-compatible model server (what Ollama speaks) that answers from a JSON script
instead of a model: for trying org without one, the demo, tests and benchmarks.

Options:
  --script FILE    the script: {"models": [...], "rules": [...], "fallback": {...}} (required); given
                   more than once, the scripts' rules are tried in the order given, every model of
                   each is served, and the first fallback answers
  --script NAME    one of org's own scripts, from any directory (a file of the same name is given as a
                   path: --script ./playground):
                     playground  an agent that looks at /workspace, runs the project's tests in the
                                 sandbox and writes NOTES.md (try the write view, /diff, /undo, org patch);
                                 python counts the project's lines; the toolsmith builds eleven small
                                 tools; the planner (workflow plan), grow's listener and the supervisor's
                                 diagnosis answer from what each request holds
                     demo        the demo's personas (a few set phrases), the same roles and the toolsmith
                     toolsmith   the toolsmith alone
  --port N         port to listen on (default 11434; 0 picks a free port and prints it)
  --host ADDRESS   address to bind (default 127.0.0.1)
  --no-delays      send every reply at once, without the script's delayMs and firstByteDelayMs (the
                   demo's and the playground's pacing, there for a person to watch a reply stream)
  --context-tokens N
                   give the model a window of N tokens (a message is ceil(chars/4) + 4 tokens, its
                   tool_calls' JSON counted as chars; the tools offered ceil(JSON chars/4)): said by
                   /api/show, /api/ps, /props and /v1/models, and a prompt over it is refused with
                   vLLM's HTTP 400 (on /api/chat the request's options.num_ctx is its window)
  --context-overflow refuse|drop
                   past the window: refuse (default), or drop the oldest messages but the system
                   prompt and answer from the rest, as Ollama does
  --ollama         say model_info in /api/show as Ollama does, so org speaks Ollama's own
                   POST /api/chat (streamed NDJSON) to it and sets num_ctx per request
  -h, --help       show this help

Endpoints: POST /v1/chat/completions (streamed and not), POST /api/chat (NDJSON), POST /v1/messages
(Anthropic's Messages API, its SSE events; no key needed), GET /v1/models, GET /api/tags, POST /api/show,
GET /api/ps, GET /props (with --context-tokens), POST /api/embed and /v1/embeddings (deterministic normalized vectors).

Script: each rule is {"when": {...}, "reply": {...}}; the first rule whose conditions all hold answers.
  when:  persona (a name in the system prompt, whole word), lastMessage (case-insensitive regex on the
         last message), lastRole (user|tool|assistant), lastTool (the tool whose result the last message
         is), tool (a tool the request offers), model, times (how often the rule may fire)
  reply: text ({{lastMessage}} is replaced, {{match.NAME}} by what lastMessage's (?<NAME>…) group matched),
         reasoning, reasoningAs (field|think), toolCalls [{name, arguments}],
         embedded (hermes|mistral|json|pythonic|qwen-xml: write the calls into the text),
         wire (ollama-new|ollama-old|ollama-index-bug|openai|vllm|llamacpp; default ollama-new),
         chunkSize (characters per chunk, default 8), delayMs, firstByteDelayMs, usage (default true),
         fault ({"status": 503} | {"cutAfterChunks": N, "midEvent"?: true, "reset"?: true} | {"malformedAfterChunks": N}),
         reportNeeds, sameNeed, planWorkflow, proposeFix, browse (a call worked out from the request)
  Without a matching rule the fallback reply answers, else a text saying no rule matched.
  More in scripted-server/README.md.

Example:
  echo '{"rules":[{"when":{"lastMessage":"list"},"reply":{"toolCalls":[{"name":"sh","arguments":{"cmd":"ls"}}]}},
                  {"reply":{"text":"You said: {{lastMessage}}"}}]}' > script.json
  org scripted-server --script script.json --port 0
  # prints: scripted model server listening on http://127.0.0.1:PORT (2 rules; models: qwen3:8b)
  curl -N http://127.0.0.1:PORT/v1/chat/completions -d '{"model":"qwen3:8b","stream":true,"messages":[{"role":"user","content":"hi"}]}'`;

type ServerOptions = {
  scripts: string[];
  port: number;
  host: string;
  noDelays: boolean;
  contextTokens?: number;
  contextOverflow?: "refuse" | "drop";
  ollama: boolean;
};

function parseOptions(args: string[]): ServerOptions {
  const { values } = parseCommandArgs("scripted-server", args, {
    script: { type: "string", multiple: true },
    port: { type: "string" },
    host: { type: "string" },
    "no-delays": { type: "boolean" },
    "context-tokens": { type: "string" },
    "context-overflow": { type: "string" },
    ollama: { type: "boolean" },
  });
  const tokensText = values["context-tokens"];
  const contextTokens = tokensText === undefined ? undefined : Number(tokensText);
  if (tokensText !== undefined && (!/^\d{1,8}$/.test(tokensText) || (contextTokens ?? 0) < 64)) {
    throw new UsageError(`--context-tokens must be a number of tokens from 64 to 99999999, not '${tokensText}'`, "scripted-server");
  }
  const overflow = values["context-overflow"];
  if (overflow !== undefined && overflow !== "refuse" && overflow !== "drop") {
    throw new UsageError(`--context-overflow must be 'refuse' or 'drop', not '${overflow}'`, "scripted-server");
  }
  if (overflow !== undefined && contextTokens === undefined) throw new UsageError("--context-overflow needs --context-tokens N", "scripted-server");
  if (values.script === undefined || values.script.length === 0) throw new UsageError("--script FILE is required", "scripted-server");
  const port = Number(values.port ?? 11434);
  if (values.port !== undefined && (!/^\d+$/.test(values.port) || port > 65535)) {
    throw new UsageError(`--port must be a number from 0 to 65535, not '${values.port}'`, "scripted-server");
  }
  return {
    scripts: values.script,
    port,
    host: values.host ?? "127.0.0.1",
    noDelays: values["no-delays"] === true,
    ...(contextTokens !== undefined ? { contextTokens } : {}),
    ...(overflow !== undefined ? { contextOverflow: overflow } : {}),
    ollama: values.ollama === true,
  };
}

/** `812 of 2048 tokens, 3 oldest messages dropped`: a request's window as the log line says it. */
function windowNote(window: { tokens: number; promptTokens: number; dropped: number }): string {
  const dropped = window.dropped > 0 ? `, ${window.dropped} oldest messages dropped` : "";
  return `${window.promptTokens} of ${window.tokens} tokens${dropped}`;
}

export const scriptedServerCommand: Command = {
  ...nameAndSummary("scripted-server"),
  help,
  async run(args, signal) {
    const options = parseOptions(args);
    const merged = mergeScripts(await Promise.all(options.scripts.flatMap(scriptFiles).map((file) => loadScript(file))));
    const script = options.noDelays ? withoutDelays(merged) : merged;
    const stopping = new AbortController();
    const onInterrupt = () => stopping.abort();
    signal.addEventListener("abort", onInterrupt, { once: true });
    process.once("SIGINT", onInterrupt);
    try {
      let server: Awaited<ReturnType<typeof startScriptedServer>>;
      try {
        server = await startScriptedServer({
          script,
          port: options.port,
          hostname: options.host,
          ...(options.contextTokens !== undefined ? { contextTokens: options.contextTokens } : {}),
          ...(options.contextOverflow !== undefined ? { contextOverflow: options.contextOverflow } : {}),
          ollama: options.ollama,
          onRequest: (request) => {
            const body: unknown = request.body;
            const model = typeof body === "object" && body !== null && "model" in body && typeof body.model === "string" ? ` ${body.model}` : "";
            const window = request.window ? ` (${windowNote(request.window)})` : "";
            console.error(`${new Date(request.time).toISOString()} ${request.method} ${request.path}${model} → ${request.outcome}${window}`);
          },
        });
      } catch (error) {
        const code = errorCode(error);
        if (code === "EADDRINUSE" || /in use/i.test(String(error))) {
          throw new OrgError(`port ${options.port} is in use; pick another with --port`);
        }
        if (code === "EADDRNOTAVAIL") {
          throw new OrgError(
            `cannot listen on ${options.host}: no interface of this machine has that address; use --host 127.0.0.1 or one of its own addresses`,
          );
        }
        throw error;
      }
      const rules = script.rules.length;
      console.log(`scripted model server listening on ${server.url} (${rules} rule${rules === 1 ? "" : "s"}; models: ${script.models.join(", ")})`);
      if (!stopping.signal.aborted) await new Promise((resolve) => stopping.signal.addEventListener("abort", resolve, { once: true }));
      await server.stop();
      console.error("scripted model server stopped");
      return 0;
    } finally {
      signal.removeEventListener("abort", onInterrupt);
      process.off("SIGINT", onInterrupt);
    }
  },
};
