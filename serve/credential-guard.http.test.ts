import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseSse, post, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { startServe } from "./start-serve.ts";

const checkout = tempGitRepo("org-serve-guard-");
afterAll(() => checkout[Symbol.dispose]());
const KEY = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";

test("POST /v1/messages with a pasted token: sent redacted, a notice says so, no copy on disk keeps it", async () => {
  await using fixture = await serveFixture({ script: { rules: [{ reply: { text: "ok" } }] }, checkoutDir: checkout.dir });
  const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
  try {
    const response = await fetch(post(`${server.url}/v1/messages`, { text: `the slack bot uses ${KEY}`, mode: "direct:agent" }));
    expect(response.status).toBe(200);
    const body = await response.text();
    const events = parseSse(body);
    const notice = events.find((event) => event.type === "notice" && event.reason === "credential-guard");
    expect(notice && "message" in notice ? notice.message : "").toContain("a Slack token; it went to the personas redacted");
    expect(body).not.toContain(KEY);
    const sent = JSON.stringify(fixture.server.requests.map((request) => request.body));
    expect(sent).toContain("the slack bot uses [REDACTED]");
    expect(sent).not.toContain(KEY);
    const sessions = join(fixture.workspaceDir, ".org", "sessions");
    for (const file of readdirSync(sessions)) expect(readFileSync(join(sessions, file), "utf8")).not.toContain(KEY);
  } finally {
    await server.stop(true);
  }
});

/** Every file under `dir`, depth first (the workspace's `.org/`: sessions, memory, serve's jobs). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : entry.isFile() ? [join(dir, entry.name)] : [],
  );
}

// Keys of each kind the guard knows: a named format, and a random value in KEY=value form (the inbound scan alone finds those).
const SLACK = "xoxb-210987654321-2109876543210-ZyXwVuTsRqPoNmLkJiHgFeDc";
const ASSIGNED = "Q9vX2mL7pR4tK8wZ3nB6";
const PLACES: { name: string; messages: unknown[] }[] = [
  {
    name: "a system message",
    messages: [
      { role: "system", content: `deploy with ${SLACK}` },
      { role: "user", content: "hi" },
    ],
  },
  {
    name: "a developer message",
    messages: [
      { role: "developer", content: `DEPLOY_KEY=${ASSIGNED}` },
      { role: "user", content: "hi" },
    ],
  },
  {
    name: "an earlier user turn",
    messages: [
      { role: "user", content: `the key is ${SLACK}` },
      { role: "assistant", content: "noted" },
      { role: "user", content: "what next?" },
    ],
  },
  {
    name: "an assistant turn",
    messages: [
      { role: "user", content: "remind me" },
      { role: "assistant", content: `you said DEPLOY_KEY=${ASSIGNED}` },
      { role: "user", content: "thanks" },
    ],
  },
  {
    name: "content parts of an earlier turn",
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: "the key is " },
          { type: "text", text: SLACK },
        ],
      },
      { role: "assistant", content: "noted" },
      { role: "user", content: "go on" },
    ],
  },
  {
    name: "content parts of the last turn",
    messages: [
      {
        role: "user",
        content: [
          { type: "text", text: `DEPLOY_KEY=${ASSIGNED} ` },
          { type: "text", text: SLACK },
        ],
      },
    ],
  },
];

test("POST /v1/chat/completions: a key in any message of any role never reaches the model server, streamed or not", async () => {
  await using fixture = await serveFixture({ script: { rules: [{ reply: { text: "ok" } }] }, checkoutDir: checkout.dir });
  const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
  try {
    for (const place of PLACES) {
      for (const stream of [false, true]) {
        const before = fixture.server.requests.length;
        const response = await fetch(post(`${server.url}/v1/chat/completions`, { model: "agent", messages: place.messages, stream }));
        expect({ place: place.name, stream, status: response.status }).toEqual({ place: place.name, stream, status: 200 });
        const body = await response.text();
        const sent = JSON.stringify(fixture.server.requests.slice(before).map((request) => request.body));
        expect(sent).toContain("[REDACTED]");
        for (const key of [SLACK, ASSIGNED]) {
          expect({ place: place.name, stream, sentHasKey: sent.includes(key), answerHasKey: body.includes(key) }).toEqual({
            place: place.name,
            stream,
            sentHasKey: false,
            answerHasKey: false,
          });
        }
      }
    }
    // A tool message is refused before any room opens: nothing of it reaches the model server.
    const before = fixture.server.requests.length;
    const tool = await fetch(
      post(`${server.url}/v1/chat/completions`, {
        model: "agent",
        messages: [
          { role: "tool", tool_call_id: "c1", content: SLACK },
          { role: "user", content: "hi" },
        ],
      }),
    );
    expect(tool.status).toBe(400);
    expect(await tool.text()).not.toContain(SLACK);
    expect(fixture.server.requests.length).toBe(before);
    for (const file of filesUnder(join(fixture.workspaceDir, ".org"))) {
      const text = readFileSync(file, "utf8");
      expect({ file, hasKey: text.includes(SLACK) || text.includes(ASSIGNED) }).toEqual({ file, hasKey: false });
    }
  } finally {
    await server.stop(true);
  }
});

test("POST /v1/messages and POST /v1/jobs: the same scan, so a random KEY=value neither reaches the model server nor any file", async () => {
  await using fixture = await serveFixture({ script: { rules: [{ reply: { text: "ok" } }] }, checkoutDir: checkout.dir });
  const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
  try {
    const message = await fetch(post(`${server.url}/v1/messages`, { text: `DEPLOY_KEY=${ASSIGNED} and ${SLACK}`, mode: "direct:agent" }));
    expect(message.status).toBe(200);
    expect(await message.text()).not.toContain(ASSIGNED);
    const accepted = await fetch(post(`${server.url}/v1/jobs`, { text: `DEPLOY_KEY=${ASSIGNED} and ${SLACK}`, mode: "direct:agent" }));
    expect(accepted.status).toBe(202);
    const job = (await accepted.json()) as { id: string; redacted?: boolean };
    expect(job.redacted).toBe(true);
    let state = "";
    await waitUntil(
      "the job to finish",
      async () => {
        state = ((await (await fetch(`${server.url}/v1/jobs/${job.id}`)).json()) as { state: string }).state;
        return state === "done" || state === "failed";
      },
      30_000,
    );
    expect(state).toBe("done");
    // Two completions; the rest are the model's window asked of the server (/api/show, /props, /v1/models…).
    const completions = fixture.server.requests.filter((request) => request.path.endsWith("/chat/completions") || request.path === "/api/chat");
    expect(completions).toHaveLength(2);
    const sent = JSON.stringify(fixture.server.requests.map((request) => request.body));
    for (const key of [SLACK, ASSIGNED]) expect(sent).not.toContain(key);
    for (const file of filesUnder(join(fixture.workspaceDir, ".org"))) {
      const text = readFileSync(file, "utf8");
      expect({ file, hasKey: text.includes(SLACK) || text.includes(ASSIGNED) }).toEqual({ file, hasKey: false });
    }
  } finally {
    await server.stop(true);
  }
});
