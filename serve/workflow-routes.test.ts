import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { auditDayFiles, HTTP_SESSION, readAuditLines } from "../security/audit-log.ts";
import { planRepo } from "../testing/plan-fixture.ts";
import { type ServeFixture, serveFixture } from "../testing/serve-fixture.ts";

// A promoted workflow lives in the checkout's workflows/, a workspace's own in the workspace's: serve offers both over
// HTTP, the workspace's first, each read and checked at every call, under the HTTP tool policy.
const checkout = planRepo("org-serve-workflows-");
let fixture: ServeFixture;
beforeAll(async () => {
  fixture = await serveFixture({ script: { rules: [{ reply: { text: "hi" } }] }, checkoutDir: checkout.dir, serve: { tools: { shouting: "deny" } } });
  mkdirSync(join(fixture.workspaceDir, "workflows"));
  const shout = (name: string) => ({
    name,
    inputs: { type: "object", properties: { text: { type: "string" } }, required: ["text"] },
    steps: [{ id: "loud", tool: "shout", inputs: { text: "$inputs.text" } }],
    output: { loud: "$steps.loud.output.text" },
  });
  writeFileSync(join(fixture.workspaceDir, "workflows", "loud.json"), JSON.stringify(shout("loud")));
  writeFileSync(join(fixture.workspaceDir, "workflows", "shouting.json"), JSON.stringify(shout("shouting")));
});
afterAll(async () => {
  await fixture?.[Symbol.asyncDispose]();
  checkout[Symbol.dispose]();
});

const post = (path: string, body: unknown) =>
  fixture.handler.fetch(
    new Request(`http://127.0.0.1${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  );

describe("serve's workflows", () => {
  test("GET /v1/workflows lists the workspace's and the checkout's, each with its HTTP policy", async () => {
    const body = (await (await fixture.handler.fetch(new Request("http://127.0.0.1/v1/workflows"))).json()) as {
      workflows: { name: string; http: string }[];
    };
    expect(body.workflows.map((entry) => `${entry.name}:${entry.http}`).sort()).toEqual(["line-words:allow", "loud:allow", "shouting:deny"]);
  });

  test("a checkout's workflow and a workspace's run, every step in the sandbox; a denied one is 403, an unknown one 404", async () => {
    const promoted = await post("/v1/workflows/line-words/run", { inputs: { text: "a b\nc" } });
    expect(await promoted.json()).toMatchObject({ workflow: "line-words", ok: true, output: { per_line: [{ words: 2 }, { words: 1 }] } });
    const own = await post("/v1/workflows/loud/run", { inputs: { text: "hi" } });
    expect(await own.json()).toMatchObject({ ok: true, output: { loud: "HI" } });
    const wrong = await post("/v1/workflows/loud/run", { inputs: { text: 3 } });
    expect(await wrong.json()).toMatchObject({ ok: false, error: expect.stringContaining("inputs") });
    expect((await post("/v1/workflows/shouting/run", { inputs: { text: "hi" } })).status).toBe(403);
    expect((await post("/v1/workflows/nope/run", { inputs: {} })).status).toBe(404);
    // Each run is in the audit log as a run over HTTP, a failed one with what it said, in one line.
    const audited = auditDayFiles(join(fixture.workspaceDir, ".org", "audit"))
      .flatMap((file) => readAuditLines(readFileSync(file.path, "utf8").split("\n")))
      .filter((entry) => entry.tool === "loud");
    expect(audited.map((entry) => [entry.sessionId, entry.ok])).toEqual([
      [HTTP_SESSION, true],
      [HTTP_SESSION, false],
    ]);
    expect(audited[1]?.error).toContain("inputs");
    expect(audited[1]?.error).not.toContain("\n");
  });
});
