import { afterAll, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseSse, post, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
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
