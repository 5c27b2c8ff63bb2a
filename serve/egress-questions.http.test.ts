import { afterAll, expect, test } from "bun:test";
import { egressRules } from "../config/egress-policy.ts";
import type { ChatMessage } from "../llm/chat-types.ts";
import type { RoomStreamFrame } from "../room/room-stream-frame.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { PublicTestSandbox } from "../testing/public-test-sandbox.ts";
import { type Watcher, watchStream } from "../testing/room-stream-client.ts";
import { post, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { applyRoomEvent, emptyRoomState } from "../web/room-state.ts";

// A host on neither list of sandbox.egress (`unlisted: "ask"`), asked about through the web room's approval route as
// the page answers it, in-process; and the same host in serve's API for programs, where no person is there to ask.
// The hosts are `.test` names on a server of the test's own, public for the guard alone (PublicTestSandbox), so what
// a command reached is in its output and in the result's `data.egress`, which the web room folds into the run's view.
const checkout = tempGitRepo("org-egress-questions-");
const site = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => new Response(`hello ${new URL(request.url).pathname}\n`) });
const port = site.port ?? 0;
afterAll(() => {
  site.stop(true);
  checkout[Symbol.dispose]();
});

const curl = (...hosts: string[]) => {
  const cmd = `${hosts.map((host) => `curl -sS --max-time 10 http://${host}:${port}/${host}`).join("; ")}; echo end`;
  return { toolCalls: [{ name: "sh", arguments: { cmd } }] };
};
const script = {
  rules: [
    { when: { lastMessage: "^yes$" }, reply: curl("yes.test") },
    { when: { lastMessage: "^no$" }, reply: curl("yes.test", "no.test") },
    { when: { lastRole: "tool" as const }, reply: { text: "ok" } },
    { reply: curl("job.test") },
  ],
};

type Event = Extract<RoomStreamFrame, { kind: "event" }>["event"];
const event = (frame: RoomStreamFrame): Event | undefined => (frame.kind === "event" ? frame.event : undefined);

test("the web room asks about an unlisted host, 'always' holds for that session only; serve's API for programs refuses it unasked", async () => {
  const sandbox = new PublicTestSandbox();
  await using fixture = await serveFixture({
    script,
    checkoutDir: checkout.dir,
    serve: { tools: { sh: "allow" } },
    handlerOptions: {
      sandbox,
      sandboxPolicy: sandboxPolicy({ workspace: "none", poolSize: 0, egress: egressRules({ unlisted: "ask", ports: [port] }) }),
      sessionPolicies: "room",
    },
  });
  const fetch = (request: Request) => fixture.handler.fetch(request);
  const watched = async () => {
    const created = await fetch(post("http://127.0.0.1/v1/sessions", { mode: "direct:agent" }));
    const { session } = (await created.json()) as { session: string };
    return { session, watcher: await watchStream(`http://127.0.0.1/v1/sessions/${session}/events`, {}, fetch) };
  };
  // What the tool told the model, each result once (every request of a session carries its history).
  const toolSaid = () => [
    ...new Set(
      fixture.server.requests
        .flatMap((request) => (request.body as { messages?: ChatMessage[] } | null)?.messages ?? [])
        .filter((message) => message.role === "tool")
        .map((message) => String(message.content)),
    ),
  ];
  /** Sends `text` in the session; answers each question as `answers` says, in order; the questions and the turn's events. */
  const turn = async ({ session, watcher }: { session: string; watcher: Watcher }, text: string, answers: string[]) => {
    const from = watcher.frames.length;
    expect((await fetch(post(`http://127.0.0.1/v1/sessions/${session}/messages`, { text }))).status).toBe(202);
    const connects: unknown[] = [];
    for (const answer of answers) {
      const at = watcher.frames.length;
      const asked = event(await watcher.waitFor((frame) => event(frame)?.type === "approval-asked", `a question of "${text}"`, { from: at }));
      if (asked?.type !== "approval-asked") throw new Error("not a question");
      expect(asked.preview).toContain(`sh wants to connect to ${String(asked.call.arguments.connect)} (not on sandbox.egress.allow)`);
      // The persona and the command's line, as the page shows them beside the host.
      expect(asked.persona).toBe("agent");
      expect(String(asked.call.arguments.command)).toStartWith("curl -sS --max-time 10 http://");
      connects.push(asked.call.arguments.connect);
      expect((await fetch(post(`http://127.0.0.1/v1/sessions/${session}/approvals/${asked.approvalId}`, { answer }))).status).toBe(200);
    }
    await watcher.waitFor((frame) => event(frame)?.type === "turn-end", `the end of "${text}"`, { from });
    const events = watcher.frames.slice(from).flatMap((frame) => event(frame) ?? []);
    expect(events.filter((seen) => seen.type === "approval-asked")).toHaveLength(answers.length);
    return { connects, events };
  };
  const first = await watched();
  const second = await watched();
  try {
    // "always": the host is reached, and a later run of this session reaches it unasked while another host is asked.
    const always = await turn(first, "yes", ["always"]);
    expect(always.connects).toEqual([`yes.test:${port}`]);
    expect(toolSaid().at(-1)).toContain("hello /yes.test\nend");
    const said = await turn(first, "no", ["no"]);
    expect(said.connects).toEqual([`no.test:${port}`]);
    expect(toolSaid().at(-1)).toContain("hello /yes.test\norg's egress guard refused no.test:");
    expect(toolSaid().at(-1)).toContain(`refused no.test:${port}: not on sandbox.egress.allow, and the person said no`);

    // The run's result event carries what it reached and what it was refused, which the web room folds into the run's view.
    const result = said.events.find((seen) => seen.type === "tool-result");
    if (result?.type !== "tool-result") throw new Error("no tool result on the stream");
    expect((result.data as { egress?: unknown }).egress).toMatch(
      /^reached 1 host \(yes\.test\), [\d.]+ KB in, [\d.]+ KB out; refused no\.test: not on sandbox\.egress\.allow, and the person said no$/,
    );
    const state = emptyRoomState(["agent"]);
    for (const seen of said.events) applyRoomEvent(state, seen);
    const parts = [...state.replies.values()].flatMap((reply) => reply.parts);
    expect(parts.flatMap((part) => (part.kind === "tool" ? [part.result?.egress] : []))).toEqual([
      [expect.stringMatching(/^reached 1 host \(yes\.test\), /), "refused no.test: not on sandbox.egress.allow, and the person said no"],
    ]);

    // Another session is asked again: "always" was for the first one.
    const other = await turn(second, "yes", ["no"]);
    expect(other.connects).toEqual([`yes.test:${port}`]);
    expect(toolSaid().at(-1)).toContain(`refused yes.test:${port}: not on sandbox.egress.allow, and the person said no`);

    const completion = await fetch(post("http://127.0.0.1/v1/chat/completions", { model: "agent", messages: [{ role: "user", content: "job" }] }));
    expect(completion.status).toBe(200);
    expect(toolSaid().at(-1)).toContain(`org's egress guard refused job.test:${port}: not on sandbox.egress.allow, and nobody is there to ask`);
    // Nothing was asked for the program's request: the three questions are the web room's.
    const questions = [first, second].flatMap(({ watcher }) => watcher.frames.filter((frame) => event(frame)?.type === "approval-asked"));
    expect(questions).toHaveLength(3);
  } finally {
    first.watcher.drop();
    second.watcher.drop();
    sandbox.pool.discardAll();
  }
}, 60_000);
