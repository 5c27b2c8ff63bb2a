import { afterAll, expect, test } from "bun:test";
import { orgCommand } from "../../config/org-bun-command.ts";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_LIMITS } from "../../config/org-limits.ts";
import { loadOrgConfig } from "../../config/org-config.ts";
import { parseOrgConfigText } from "../../config/parse-org-config-text.ts";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { runOrgProcess } from "../../testing/org-process.ts";
import { initConfigText } from "./init-command.ts";

const workspace = mkdtempSync(join(tmpdir(), "org-init-"));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

async function init(args: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn(orgCommand(["init", "--workspace", workspace, ...args]), {
    env: { ...process.env, ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
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
    send_file: "ask",
    browser: "ask",
    web_fetch: "deny",
    web_request: "deny",
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

test("without --model or OLLAMA_MODEL, init leaves the model to the environment: OLLAMA_MODEL then picks it as org starts", async () => {
  const dir = mkdtempSync(join(tmpdir(), "org-init-env-"));
  // The sandbox drops to another uid, which must be able to enter the workspace (mkdtemp makes it 0700).
  chmodSync(dir, 0o755);
  try {
    const { OLLAMA_MODEL: _left, ...env } = process.env;
    const child = Bun.spawn(orgCommand(["init", "--workspace", dir]), { env, stdout: "pipe", stderr: "pipe" });
    const [stdout, exitCode] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect(exitCode).toBe(0);
    expect(stdout).toContain("agent, python and toolsmith on OLLAMA_MODEL's model as org starts (unset now: qwen3:8b; pin one with --model M)");
    const file = join(dir, "org.config.json");
    const config = loadOrgConfig(file, { OLLAMA_BASE: "http://127.0.0.1:1", OLLAMA_MODEL: "other:1b" }, { checkoutDir: dir });
    expect(config.personas.map((persona) => `${persona.name}:${persona.model} from ${persona.modelSource}`)).toEqual([
      "agent:other:1b from OLLAMA_MODEL",
      "python:other:1b from OLLAMA_MODEL",
      "toolsmith:other:1b from OLLAMA_MODEL",
    ]);
    expect(config.sandbox.workspace).toBe("read");

    // What the no-server hint says to run: OLLAMA_MODEL=scripted against a server that has that model alone.
    await using server = await startScriptedServer({
      script: { models: ["scripted"], rules: [{ reply: { text: "hello from the scripted model" } }] },
    });
    const chat = await runOrgProcess(["chat", "--workspace", dir, "--once", "@agent hi"], {
      cwd: dir,
      env: { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" },
    });
    expect({ exitCode: chat.exitCode, stderr: chat.exitCode === 0 ? "" : chat.stderr }).toEqual({ exitCode: 0, stderr: "" });
    expect(chat.stdout).toContain("hello from the scripted model");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test("comments are white space to the config reader, and its errors still name the right line", () => {
  expect(() => parseOrgConfigText(initConfigText("m"))).not.toThrow();
  expect(() => parseOrgConfigText(initConfigText(undefined))).not.toThrow();
  const text = '// a comment\n{\n  /* two\n     lines */\n  "mode": "group", // trailing\n  "limits": { "hopsPerMessage": -1 }\n}\n';
  expect(() => parseOrgConfigText(text)).toThrow("line 6, key limits.hopsPerMessage");
  expect(() => parseOrgConfigText('{ "mode": "group" /* never closed }')).toThrow("never closed");
  // Inside a string, // is text.
  expect(parseOrgConfigText('{ "mode": "file:notes//a.md" }').mode).toBe("file:notes//a.md");
});
