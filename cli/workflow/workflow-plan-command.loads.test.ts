import { afterAll, beforeAll, expect, test } from "bun:test";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { importersOf, modulesLoadedBy } from "../../testing/loaded-modules.ts";
import { planRepo } from "../../testing/plan-fixture.ts";

// Each `org workflow plan` loaded the MCP client (for a config that names no server), node:crypto (for a random id and
// hashes that Bun gives), node:zlib (for the redactor's compressed renderings, which no plan met) and a tool's JSON
// Schema it never offered: 338 modules, now 297.
let server: Awaited<ReturnType<typeof startScriptedServer>>;
beforeAll(async () => {
  server = await startScriptedServer({
    port: 0,
    script: {
      models: ["scripted"],
      rules: [{ when: { persona: "planner", lastMessage: "^Goal: says no" }, reply: { text: "I would rather not." } }],
    },
  });
});
afterAll(() => server.stop());

test("org workflow plan asks its model without loading the MCP client, node:crypto, zlib or node's streams", async () => {
  using repo = planRepo("org-plan-loads-");
  const { stderr, exitCode, modules } = await modulesLoadedBy(
    ["workflow", "plan", "--repo", repo.dir, "--workspace", repo.dir, "--goal", "says no"],
    {
      cwd: repo.dir,
      env: { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" },
    },
  );
  expect(exitCode).toBe(3);
  expect(stderr).toContain("the planner never called submit_workflow");
  expect(modules).toContain("planner/plan-workflow.ts");
  expect(modules.filter((path) => path.startsWith("mcp-client/"))).toEqual([]);
  expect(importersOf(modules, ["node:crypto", "node:stream", "node:stream/promises", "node:zlib", "node:net", "node:tls"])).toEqual([]);
}, 60_000);
