import { afterAll, describe, expect, test } from "bun:test";
import type { ScriptInput } from "../scripted-server/script.ts";
import { runOrgProcess } from "../testing/org-process.ts";
import { watchStream } from "../testing/room-stream-client.ts";
import { post, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { sessionApiSchemas } from "./session-api.ts";
import { startServe } from "./start-serve.ts";

// One set of transcripts for the terminal and HTTP (issue 54, item 8): a session `org chat` started opens over serve's
// session routes, and one started over them resumes in `org chat`. It runs `org chat` from this checkout, so it is
// one of the checkout-sensitive files (testing/where-it-runs-files.ts).
const checkout = tempGitRepo("org-sessions-across-");
afterAll(() => checkout[Symbol.dispose]());
const TOKEN = "sessions-across-token-3";
const AUTH = { authorization: `Bearer ${TOKEN}` };

describe("one set of transcripts for the terminal and HTTP", () => {
  test("a session started by org chat opens over HTTP, and one started over HTTP resumes in org chat", async () => {
    const script: ScriptInput = { rules: [{ reply: { text: "I heard: {{lastMessage}}" } }] };
    await using fixture = await serveFixture({ script, checkoutDir: checkout.dir, apiToken: TOKEN });
    const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    await using _stop = { [Symbol.asyncDispose]: () => server.stop(true) };
    const base = server.url;
    const workspace = fixture.workspaceDir;
    const env = { OLLAMA_BASE: fixture.server.url, OLLAMA_MODEL: "qwen3:8b" };
    const chat = (args: string[]) => runOrgProcess(["chat", "--workspace", workspace, ...args], { cwd: workspace, env });

    // The terminal's session, over HTTP: listed, and its transcript opened.
    const once = await chat(["--once", "typed in the terminal", "--mode", "direct:agent", "--json"]);
    expect(once.exitCode).toBe(0);
    const list = (await (await fetch(`${base}/v1/sessions`, { headers: AUTH })).json()) as { sessions: { id: string; title: string }[] };
    const fromTerminal = list.sessions.find((entry) => entry.title === "typed in the terminal");
    expect(fromTerminal).toBeDefined();
    const opened = sessionApiSchemas().SessionTranscript.parse(
      await (await fetch(`${base}/v1/sessions/${fromTerminal?.id}`, { headers: AUTH })).json(),
    );
    expect(opened.mode).toBe("direct:agent");
    expect(opened.lines.flatMap((line) => (line.type === "message" ? [line.message.text] : []))).toEqual([
      "typed in the terminal",
      "I heard: typed in the terminal",
    ]);

    // An HTTP session, in the terminal: its messages are the resumed room's history.
    const created = await fetch(post(`${base}/v1/sessions`, { mode: "direct:agent" }, AUTH));
    const { session } = (await created.json()) as { session: string };
    const watcher = await watchStream(`${base}/v1/sessions/${session}/events`, AUTH);
    const sent = await fetch(post(`${base}/v1/sessions/${session}/messages`, { text: "sent over HTTP" }, AUTH));
    expect(sent.status).toBe(202);
    const { turnId } = sessionApiSchemas().SessionMessageAccepted.parse(await sent.json());
    await watcher.waitFor((frame) => frame.kind === "event" && frame.event.type === "turn-end" && frame.event.turnId === turnId, "turn-end");
    watcher.drop();
    const resumed = await chat(["--resume", session, "--once", "/history"]);
    expect(resumed.exitCode).toBe(0);
    expect(resumed.stdout).toContain("sent over HTTP");
    expect(resumed.stdout).toContain("I heard: sent over HTTP");
  }, 120_000);
});
