// Issue 74's review, FP1, through the room: a workspace's `.env` holds ordinary settings beside a key. The room hides
// every value from what is shown, but web_request refuses only the key, and names its variable, never its value.
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { WebSettings } from "../config/web-settings.ts";
import { scriptedModel } from "../llm/scripted-model.ts";
import { loadConfirmedConfig } from "../testing/confirmed-config.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { webRequestTool } from "../tools/web-request.ts";
import type { RoomEvent } from "./room-event.ts";
import { openRoom } from "./room.ts";

const KEY = "Zq8xT4mW9pLk2VbN7rYcHd3F";
const workspace = tempGitRepo("org-web-request-env-");
const received: string[] = [];
const api = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: async (request) => {
    received.push(await request.text());
    return Response.json({ ok: true });
  },
});
afterAll(async () => {
  await api.stop(true);
  workspace[Symbol.dispose]();
});

test("a request naming the .env's model and region goes out; one carrying its key in pieces is refused, named by its variable", async () => {
  writeFileSync(join(workspace.dir, ".env"), `OPENAI_MODEL=gpt-4o-mini\nAWS_REGION=us-east-1\nPAYMENTS_KEY=${KEY}\n`);
  const url = `http://api.test:${api.port}/v1/chat/completions`;
  const model = scriptedModel([
    {
      toolCalls: [
        { name: "web_request", arguments: { method: "POST", url, json: { model: "gpt-4o-mini", region: "us-east-1" } } },
        { name: "web_request", arguments: { method: "POST", url, json: { a: KEY.slice(0, 8), b: KEY.slice(8, 16), c: KEY.slice(16) } } },
      ],
    },
    { text: "done" },
  ]);
  const config = loadConfirmedConfig(
    join(workspace.dir, "org.config.json"),
    { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "m" },
    {
      checkoutDir: workspace.dir,
    },
  );
  config.personas = [
    { name: "agent", kind: "agent", model: "m", server: "http://127.0.0.1:9", tools: { web_request: "allow" }, contextMessages: 60 },
  ];
  const tool = webRequestTool({
    web: { ...WebSettings.parse({}), requestHosts: ["api.test"] },
    resolver: async () => ["127.0.0.1"],
    ports: [api.port ?? 0],
    treatAsPublic: new Set(["127.0.0.1"]),
  });
  const events: RoomEvent[] = [];
  const room = await openRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir: workspace.dir,
    tools: [tool],
    models: () => model,
    prepareTools: false,
    onEvent: (event) => events.push(event),
  });
  try {
    await room.send("@agent go");
  } finally {
    await room.close();
  }
  const outputs = events.flatMap((event) => (event.type === "tool-result" ? [event.output] : []));
  expect(outputs).toHaveLength(2);
  expect(received).toEqual([JSON.stringify({ model: "gpt-4o-mini", region: "us-east-1" })]);
  expect(outputs[1]).toContain("Error: not sent: the request holds the value of PAYMENTS_KEY in .env");
  expect(outputs[1]).toContain("sandbox.secretPaths");
  expect(outputs[1]).not.toContain(KEY.slice(0, 8));
  // Every value of the .env is still hidden from what is shown: the settings too.
  expect(JSON.stringify(events)).not.toContain("gpt-4o-mini");
}, 60_000);
