import { afterAll, expect, test } from "bun:test";
import { egressRules } from "../config/egress-policy.ts";
import type { ChatMessage } from "../llm/chat-types.ts";
import type { RoomStreamFrame } from "../room/room-stream-frame.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { watchStream } from "../testing/room-stream-client.ts";
import { post, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";

// A host on neither list of sandbox.egress (`unlisted: "ask"`), asked about through the web room's approval route as
// the page answers it, in-process; and the same host in serve's API for programs, where no person is there to ask.
// The hosts are `.invalid` names: a host the person let through goes on to be resolved (and fails to), one refused
// never is, so the command's output tells the two answers apart without any server.
const checkout = tempGitRepo("org-egress-questions-");
afterAll(() => checkout[Symbol.dispose]());

const curl = (host: string) => ({ toolCalls: [{ name: "sh", arguments: { cmd: `curl -sS --max-time 10 http://${host}/ 2>&1; echo end` } }] });
const script = {
  rules: [
    { when: { lastMessage: "^yes$" }, reply: curl("yes.invalid") },
    { when: { lastMessage: "^no$" }, reply: curl("no.invalid") },
    { when: { lastRole: "tool" as const }, reply: { text: "ok" } },
    { reply: curl("job.invalid") },
  ],
};

type Event = Extract<RoomStreamFrame, { kind: "event" }>["event"];
const event = (frame: RoomStreamFrame): Event | undefined => (frame.kind === "event" ? frame.event : undefined);

test("the web room asks about an unlisted host and its answer decides; serve's API for programs refuses it, nobody to ask", async () => {
  await using fixture = await serveFixture({
    script,
    checkoutDir: checkout.dir,
    serve: { tools: { sh: "allow" } },
    handlerOptions: {
      sandboxPolicy: sandboxPolicy({ workspace: "none", poolSize: 0, egress: egressRules({ unlisted: "ask" }) }),
      sessionPolicies: "room",
    },
  });
  const fetch = (request: Request) => fixture.handler.fetch(request);
  const created = await fetch(post("http://127.0.0.1/v1/sessions", { mode: "direct:agent" }));
  const { session } = (await created.json()) as { session: string };
  const watcher = await watchStream(`http://127.0.0.1/v1/sessions/${session}/events`, {}, fetch);
  // What the tool told the model, each result once (every request of a session carries its history).
  const toolSaid = () => [
    ...new Set(
      fixture.server.requests
        .flatMap((request) => (request.body as { messages?: ChatMessage[] } | null)?.messages ?? [])
        .filter((message) => message.role === "tool")
        .map((message) => String(message.content)),
    ),
  ];
  try {
    for (const [text, answer] of [
      ["yes", "yes"],
      ["no", "no"],
    ] as const) {
      const from = watcher.frames.length;
      expect((await fetch(post(`http://127.0.0.1/v1/sessions/${session}/messages`, { text }))).status).toBe(202);
      const asked = event(await watcher.waitFor((frame) => event(frame)?.type === "approval-asked", `the question of "${text}"`, { from }));
      if (asked?.type !== "approval-asked") throw new Error("not a question");
      expect(asked.call.arguments).toMatchObject({ connect: `${text}.invalid:80` });
      expect(asked.preview).toContain(`sh wants to connect to ${text}.invalid:80 (not on sandbox.egress.allow)`);
      const answered = await fetch(post(`http://127.0.0.1/v1/sessions/${session}/approvals/${asked.approvalId}`, { answer }));
      expect(answered.status).toBe(200);
      await watcher.waitFor((frame) => event(frame)?.type === "turn-end", `the end of "${text}"`, { from });
    }
    const [yes, no] = toolSaid();
    // Let through by the person: the guard went on to resolve the name (which no DNS holds).
    expect(yes).toContain("org's egress guard could not resolve yes.invalid");
    expect(no).toContain("org's egress guard refused no.invalid:80: not on sandbox.egress.allow, and the person said no");

    const completion = await fetch(post("http://127.0.0.1/v1/chat/completions", { model: "agent", messages: [{ role: "user", content: "job" }] }));
    expect(completion.status).toBe(200);
    expect(toolSaid().at(-1)).toContain("org's egress guard refused job.invalid:80: not on sandbox.egress.allow, and nobody is there to ask");
    // Nothing was asked for the program's request: the two questions are the web room's.
    expect(watcher.frames.filter((frame) => event(frame)?.type === "approval-asked")).toHaveLength(2);
  } finally {
    watcher.drop();
  }
}, 60_000);
