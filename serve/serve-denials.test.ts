import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { ChatMessage } from "../llm/chat-types.ts";
import { sandboxPolicy as policyWith } from "../sandbox/sandbox-policy.ts";
import { parseSse, post, serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";

const checkout = tempGitRepo("org-serve-denials-");
afterAll(() => checkout[Symbol.dispose]());

test("over HTTP, a call the policy marks ask is denied and the model is told why: not the user, no one can be asked", async () => {
  const script = {
    rules: [
      { when: { lastRole: "user" as const }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "id" } }] } },
      { when: { lastRole: "tool" as const }, reply: { text: "ok" } },
    ],
  };
  await using fixture = await serveFixture({ script, checkoutDir: checkout.dir });
  const agent = fixture.config.personas.find((persona) => persona.name === "agent");
  if (!agent) throw new Error("no agent persona in the default config");
  agent.tools = { ...agent.tools, sh: "ask" };
  const response = await fixture.handler.fetch(post("http://org.test/v1/messages", { text: "who am i", mode: "direct:agent" }));
  parseSse(await response.text());
  const told = (fixture.server.requests.at(-1)?.body as { messages: ChatMessage[] }).messages.at(-1);
  expect(told?.role).toBe("tool");
  expect(told?.content).toContain("no one can answer an approval question here (over HTTP");
  expect(told?.content).not.toContain("the user denied");
});

test("over HTTP, workspace changes are denied unless serve.tools.workspace_write allows them, whatever the console's policy says", async () => {
  const script = {
    rules: [
      { when: { lastRole: "user" as const }, reply: { toolCalls: [{ name: "sh", arguments: { cmd: "echo fixed > fix.txt" } }] } },
      { when: { lastRole: "tool" as const }, reply: { text: "ok" } },
    ],
  };
  const sandboxPolicy = policyWith({ workspace: "write", poolSize: 0 });
  for (const [serveSetting, applied] of [
    [undefined, false],
    ["allow", true],
  ] as const) {
    await using fixture = await serveFixture({
      script,
      checkoutDir: checkout.dir,
      handlerOptions: { sandboxPolicy },
      ...(serveSetting ? { serve: { tools: { workspace_write: serveSetting } } } : {}),
    });
    // The console may apply without asking; over HTTP that says nothing.
    fixture.config.sandbox.workspaceWrite = "allow";
    const response = await fixture.handler.fetch(post("http://org.test/v1/messages", { text: "fix it", mode: "direct:agent" }));
    const notices = parseSse(await response.text()).flatMap((event) => (event.type === "notice" ? [event.message] : []));
    expect(existsSync(join(fixture.workspaceDir, "fix.txt"))).toBe(applied);
    if (!applied)
      expect(notices).toContain(
        `agent's change was not applied: the workspace_write policy is "deny" (serve.tools.workspace_write, over HTTP ("deny" unless set))`,
      );
  }
}, 30_000);
