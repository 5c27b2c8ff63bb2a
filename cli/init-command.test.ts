import { afterAll, expect, test } from "bun:test";
import { orgCommand } from "../config/org-bun-command.ts";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_LIMITS, loadOrgConfig, parseOrgConfigText } from "../config/org-config.ts";
import { initConfigText } from "./init-command.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-init-"));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

async function init(args: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn(orgCommand(["init", "--workspace", workspace, ...args]), { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

test("org init writes a commented org.config.json that org reads as written; it refuses to overwrite without --force", async () => {
  const first = await init(["--model", "llama3.1:8b"]);
  expect(first.exitCode).toBe(0);
  const file = join(workspace, "org.config.json");
  const text = readFileSync(file, "utf8");
  expect(text).toContain("// ");
  const config = loadOrgConfig(file, { OLLAMA_BASE: "http://127.0.0.1:1" }, { checkoutDir: workspace });
  expect(config.personas.map((persona) => `${persona.name}:${persona.kind}:${persona.model}`)).toEqual([
    "agent:agent:llama3.1:8b",
    "python:python:llama3.1:8b",
    "toolsmith:toolsmith:llama3.1:8b",
  ]);
  expect(config.personas[0]?.tools).toEqual({
    sh: "allow",
    chat_mode: "allow",
    workflow_run: "ask",
    plan_workflow: "ask",
    memory_search: "allow",
    memory_save: "allow",
    web_fetch: "deny",
  });
  expect(config.limits).toEqual(DEFAULT_LIMITS);

  writeFileSync(file, "{}\n");
  const again = await init(["--model", "other:1b"]);
  expect(again.exitCode).toBe(1);
  expect(again.stderr).toContain("already exists; it was left as it is. Give --force to overwrite it");
  expect(readFileSync(file, "utf8")).toBe("{}\n");
  const forced = await init(["--force"], { OLLAMA_MODEL: "qwen3:4b" });
  expect(forced.exitCode).toBe(0);
  expect(loadOrgConfig(file, { OLLAMA_BASE: "http://127.0.0.1:1" }, { checkoutDir: workspace }).personas[0]?.model).toBe("qwen3:4b");
});

test("comments are white space to the config reader, and its errors still name the right line", () => {
  expect(() => parseOrgConfigText(initConfigText("m"))).not.toThrow();
  const text = '// a comment\n{\n  /* two\n     lines */\n  "mode": "group", // trailing\n  "limits": { "hopsPerMessage": -1 }\n}\n';
  expect(() => parseOrgConfigText(text)).toThrow("line 6, key limits.hopsPerMessage");
  expect(() => parseOrgConfigText('{ "mode": "group" /* never closed }')).toThrow("never closed");
  // Inside a string, // is text.
  expect(parseOrgConfigText('{ "mode": "file:notes//a.md" }').mode).toBe("file:notes//a.md");
});
