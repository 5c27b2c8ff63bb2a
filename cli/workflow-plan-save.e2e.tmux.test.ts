import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { latestReport } from "../fitness/fitness-report.ts";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { freePort } from "../testing/free-port.ts";
import { orgClone } from "../testing/org-clone.ts";
import { planRule, writePlanTools } from "../testing/plan-fixture.ts";
import { runOpsScript } from "../testing/run-ops-script.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { instancesEnv, TmuxServer, uniqueSessionName } from "../testing/tmux.ts";

// `workflow plan --save`, the whole way a person takes it: in a throw-away clone of org with tools of its own, the plan
// lands as workflows/<name>.json on a candidate, the fitness gate runs its example on both real instances (served in
// tmux), promote merges it, and current serves it to an MCP client (the SDK's own) and over HTTP.
const clone = orgClone("org-plan-save-", { withoutGeneratedTools: true, onlyTests: ["generated-tools/promoted-tools.test.ts"] });
const session = uniqueSessionName("org-plan");
const object = (properties: Record<string, unknown>) => ({ type: "object", properties, required: Object.keys(properties) });
const PER_LINE = {
  name: "words per line",
  inputs: object({ text: { type: "string" } }),
  steps: [
    { id: "split", tool: "split_lines", inputs: { text: "$inputs.text" } },
    { id: "count", tool: "word_count", foreach: "$steps.split.output.lines", inputs: { text: "$item" } },
  ],
  output: { per_line: "$steps.count.output" },
};
let tmux: TmuxServer;
let server: ScriptedServer;
let currentPort = 0;
let candidatePort = 0;

beforeAll(async () => {
  tmux = await TmuxServer.start();
  currentPort = freePort();
  candidatePort = freePort();
  writePlanTools(clone.dir, ["split_lines", "word_count"]);
  mkdirSync(join(clone.dir, ".org"), { recursive: true });
  gitSync(clone.dir, ["add", "tools"]);
  gitSync(clone.dir, ["commit", "--quiet", "-m", "two tools"]);
  server = await startScriptedServer({ port: 0, script: { models: ["scripted"], rules: [planRule("count the words on each line", PER_LINE)] } });
});
afterAll(async () => {
  if (tmux) await runOpsScript(clone.dir, "stop.sh", [], { cwd: clone.dir, env: environment() }).catch(() => undefined);
  await tmux?.close().catch(() => undefined);
  await server?.stop().catch(() => undefined);
  clone[Symbol.dispose]();
});

function environment(): Record<string, string> {
  return instancesEnv(tmux, { session, currentPort, candidatePort, ollamaBase: server.url });
}

/** `bin/org ARGS` of the clone, from the clone; the run must exit 0, or the test fails with all it said. */
async function orgOk(args: string[]): Promise<{ stdout: string; stderr: string }> {
  const child = Bun.spawn([join(clone.dir, "bin", "org"), ...args], {
    cwd: clone.dir,
    env: { ...process.env, ...environment() },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 300_000);
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(killer);
  if (child.exitCode !== 0) throw new Error(`org ${args.join(" ")} exited ${child.exitCode ?? child.signalCode}:\n${stdout}\n${stderr}`);
  return { stdout, stderr };
}

describe("a saved plan, judged, promoted and served", () => {
  test("--save lands workflows/<name>.json on a candidate; the gate runs its example on both instances; promoted, current serves it over MCP and HTTP", async () => {
    const mainBefore = gitSync(clone.dir, ["rev-parse", "main"]).trim();
    const saved = await orgOk([
      "workflow",
      "plan",
      "--goal",
      "count the words on each line",
      "--inputs",
      '{"text":"a b\\nc"}',
      "--save",
      "per-line",
      "--json",
    ]);
    const line = JSON.parse(saved.stdout);
    expect(line).toMatchObject({ ok: true, output: { per_line: [{ words: 2 }, { words: 1 }] }, saved: { file: "workflows/per-line.json" } });
    const branch: string = line.saved.branch;
    expect(branch).toMatch(/^cand\/\d{8}T\d{6}Z$/);
    // Never on main; on the branch with the goal and the run as its example.
    expect(gitSync(clone.dir, ["rev-parse", "main"]).trim()).toBe(mainBefore);
    const file = JSON.parse(gitSync(clone.dir, ["show", `${branch}:workflows/per-line.json`]));
    expect(file).toMatchObject({
      goal: "count the words on each line",
      examples: [{ inputs: { text: "a b\nc" }, output: { per_line: [{ words: 2 }, { words: 1 }] } }],
    });

    await orgOk(["instance", "start", "current"]);
    await orgOk(["instance", "start", "candidate", branch]);
    await orgOk(["fitness", "--runs", "1"]);
    const report = latestReport(clone.dir, line.saved.commit)?.report;
    expect(report?.verdict).toBe("pass");
    expect(report?.checks.find((check) => check.name === "protected core")?.reason).toContain("1 workflow(s)");
    expect(report?.checks.find((check) => check.name === "workflow per-line")).toMatchObject({
      ok: true,
      figures: { examples: 1, candidatePasses: 1 },
    });

    await orgOk(["promote", branch]);
    expect(gitSync(clone.dir, ["ls-tree", "--name-only", "main:workflows"])).toContain("per-line.json");
    await orgOk(["instance", "stop", "candidate"]);

    // Current, restarted by promote on the new main, serves it to the SDK's MCP client and over HTTP.
    const client = new Client({ name: "plan-save-test", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${currentPort}/mcp`)));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((entry) => entry.name)).toContain("per-line");
      const called = await client.callTool({ name: "per-line", arguments: { text: "one two three\nfour" } });
      expect(called.isError).toBeFalsy();
      const [content] = Array.isArray(called.content) ? called.content : [];
      expect(JSON.parse(content?.type === "text" ? content.text : "null")).toEqual({ per_line: [{ words: 3 }, { words: 1 }] });
    } finally {
      await client.close();
    }
    const http = await fetch(`http://127.0.0.1:${currentPort}/v1/workflows/per-line/run`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ inputs: { text: "x" } }),
    });
    expect(await http.json()).toMatchObject({ ok: true, output: { per_line: [{ words: 1 }] } });

    // A rollback takes the workflow back off main like a tool, and current stops serving it.
    await orgOk(["rollback"]);
    expect(gitSync(clone.dir, ["ls-tree", "--name-only", "main", "--", "workflows/per-line.json"]).trim()).toBe("");
    const listed = (await (await fetch(`http://127.0.0.1:${currentPort}/v1/workflows`)).json()) as { workflows: { name: string }[] };
    expect(listed.workflows.map((entry) => entry.name)).not.toContain("per-line");
  }, 600_000);
});
