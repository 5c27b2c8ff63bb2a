import { afterAll, expect, test } from "bun:test";
import { WebSettings } from "../config/web-settings.ts";
import type { RoomEvent } from "../room/room-event.ts";
import type { RoomStreamFrame } from "../room/room-stream-frame.ts";
import { numbered, watchStream } from "../testing/room-stream-client.ts";
import { post, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { webRequestTool } from "../tools/web-request.ts";
import { startServe } from "./start-serve.ts";

// web_request to a host not on web.requestHosts asks the person through the room, like any call: whoever watches the
// session answers; "always" adds the host for the rest of the session, and only that host.
const checkout = tempGitRepo("org-web-request-approval-");
afterAll(() => checkout[Symbol.dispose]());
const TOKEN = "web-request-token-3";
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** serve with web_request at `policy` for every persona, a model that calls it for three URLs, and an API that records them. */
async function setUp(policy: "allow" | "ask") {
  const received: string[] = [];
  const api = {
    server: Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: async (request) => {
        received.push(`${request.method} ${new URL(request.url).pathname} ${await request.text()}`);
        return Response.json({ ok: true }, { status: 201 });
      },
    }),
    async [Symbol.asyncDispose]() {
      await this.server.stop(true);
    },
  };
  const port = api.server.port ?? 0;
  const at = (host: string, path: string) => `http://${host}:${port}${path}`;
  const call = (host: string, path: string) => ({ name: "web_request", arguments: { method: "POST", url: at(host, path), json: { n: path } } });
  const fixture = await serveFixture({
    script: {
      rules: [
        { when: { times: 1 }, reply: { toolCalls: [call("new.test", "/one")] } },
        { when: { lastRole: "tool", times: 1 }, reply: { toolCalls: [call("new.test", "/two")] } },
        { when: { lastRole: "tool", times: 1 }, reply: { toolCalls: [call("third.test", "/three")] } },
        { reply: { text: "done" } },
      ],
    },
    checkoutDir: checkout.dir,
    apiToken: TOKEN,
    builtIns: [
      webRequestTool({
        web: { ...WebSettings.parse({}), requestHosts: ["listed.test"] },
        resolver: async () => ["127.0.0.1"],
        ports: [port],
        treatAsPublic: new Set(["127.0.0.1"]),
      }),
    ],
  });
  fixture.config.personas = fixture.config.personas.map((persona) => ({ ...persona, tools: { ...persona.tools, web_request: policy } }));
  const server = {
    running: startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 }),
    async [Symbol.asyncDispose]() {
      await this.running.stop(true);
    },
  };
  const base = server.running.url;
  const created = await fetch(post(`${base}/v1/sessions`, { mode: "direct:agent" }, AUTH));
  const { session } = (await created.json()) as { session: string };
  const watcher = await watchStream(`${base}/v1/sessions/${session}/events`, AUTH);
  expect((await fetch(post(`${base}/v1/sessions/${session}/messages`, { text: "file the issues" }, AUTH))).status).toBe(202);
  return {
    at,
    base,
    session,
    watcher,
    received,
    async [Symbol.asyncDispose]() {
      watcher.drop();
      await server[Symbol.asyncDispose]();
      await fixture[Symbol.asyncDispose]();
      await api[Symbol.asyncDispose]();
    },
  };
}

/**
 * The question's preview of a POST of `json`: every header that goes out, with its value, as written (the room, the web
 * room and Telegram show this text).
 */
const sentAsShown = (url: string, json: string) =>
  [
    `POST ${url}`,
    `Host: ${new URL(url).host}`,
    "User-Agent: org-web-request/1",
    "Accept: */*",
    "Accept-Encoding: identity",
    "Connection: close",
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(json)}`,
    "",
    json,
  ].join("\n");

const asked = (frame: RoomStreamFrame) => frame.kind === "event" && frame.event.type === "approval-asked";
type Asked = { event: Extract<RoomEvent, { type: "approval-asked" }> };

test("a watcher answers a new host 'always': the next request there is not asked, another host is", async () => {
  await using served = await setUp("allow");
  const { at, base, session, watcher, received } = served;

  const first = (await watcher.waitFor(asked, "the first question")) as Asked;
  expect(first.event.call).toMatchObject({ name: "web_request", arguments: { method: "POST", url: at("new.test", "/one") } });
  expect(first.event.preview).toBe(sentAsShown(at("new.test", "/one"), '{"n":"/one"}'));
  expect(first.event.alwaysFor).toBe("web_request to new.test");
  expect(received).toEqual([]);
  const answered = await fetch(post(`${base}/v1/sessions/${session}/approvals/${first.event.approvalId}`, { answer: "always", by: "phone" }, AUTH));
  expect(answered.status).toBe(200);

  const third = (await watcher.waitFor(
    (frame) => asked(frame) && frame.kind === "event" && JSON.stringify(frame.event).includes("third.test"),
    "the question about another host",
  )) as Asked;
  expect(received).toEqual(['POST /one {"n":"/one"}', 'POST /two {"n":"/two"}']);
  await fetch(post(`${base}/v1/sessions/${session}/approvals/${third.event.approvalId}`, { answer: "no" }, AUTH));
  await watcher.waitFor((frame) => frame.kind === "event" && frame.event.type === "turn-end", "turn-end");
  expect(received).toHaveLength(2);
  const questions = numbered(watcher.frames).filter((event) => event.type === "approval-asked");
  expect(questions).toHaveLength(2);
}, 60_000);

test("under 'ask', the call's own question scopes 'always' to its host too", async () => {
  await using served = await setUp("ask");
  const { at, base, session, watcher, received } = served;
  const first = (await watcher.waitFor(asked, "the call's question")) as Asked;
  expect(first.event.call).toMatchObject({ name: "web_request", arguments: { method: "POST", url: at("new.test", "/one"), json: { n: "/one" } } });
  // The call's own question shows the request as it will go too, every header with its value.
  expect(first.event.preview).toBe(sentAsShown(at("new.test", "/one"), '{"n":"/one"}'));
  expect(first.event.alwaysFor).toBe("web_request to new.test");
  await fetch(post(`${base}/v1/sessions/${session}/approvals/${first.event.approvalId}`, { answer: "always" }, AUTH));
  const third = (await watcher.waitFor(
    (frame) => asked(frame) && frame.kind === "event" && JSON.stringify(frame.event).includes("third.test"),
    "the question about another host",
  )) as Asked;
  expect(third.event.alwaysFor).toBe("web_request to third.test");
  expect(received).toEqual(['POST /one {"n":"/one"}', 'POST /two {"n":"/two"}']);
  await fetch(post(`${base}/v1/sessions/${session}/approvals/${third.event.approvalId}`, { answer: "no" }, AUTH));
  await watcher.waitFor((frame) => frame.kind === "event" && frame.event.type === "turn-end", "turn-end");
  expect(received).toHaveLength(2);
}, 60_000);
