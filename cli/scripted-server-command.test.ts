import { afterAll, describe, expect, test } from "bun:test";
import { orgCommand } from "../config/org-bun-command.ts";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const directory = mkdtempSync(join(tmpdir(), "org-scripted-command-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

function scriptFile(name: string, content: unknown): string {
  const path = join(directory, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const script = scriptFile("ok.json", {
  rules: [
    { when: { lastMessage: "weather" }, reply: { toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] } },
    { reply: { text: "You said: {{lastMessage}}" } },
  ],
});

async function org(...args: string[]) {
  const child = Bun.spawn(orgCommand(args), { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exitCode };
}

/** Starts the command (in `cwd` when given), waits for its first stdout line, and returns the URL it printed. */
async function startCommandIn(cwd: string | undefined, ...args: string[]) {
  const child = Bun.spawn(orgCommand(["scripted-server", ...args]), { ...(cwd ? { cwd } : {}), stdout: "pipe", stderr: "pipe" });
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let stdout = "";
  while (!stdout.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    stdout += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  return { child, firstLine: stdout.split("\n")[0] ?? "", url: stdout.match(/http:\/\/127\.0\.0\.1:\d+/)?.[0] ?? "" };
}

const startCommand = (...args: string[]) => startCommandIn(undefined, ...args);

describe("org scripted-server", () => {
  test("--port 0 prints the real URL and rule count, answers chat and lists models, logs requests, stops on SIGINT", async () => {
    const { child, firstLine, url } = await startCommand("--port", "0", "--script", script);
    try {
      expect(firstLine).toMatch(/^scripted model server listening on http:\/\/127\.0\.0\.1:\d+ \(2 rules; models: qwen3:8b\)$/);
      expect(url).not.toEndWith(":0");
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "qwen3:8b", messages: [{ role: "user", content: "hello" }] }),
      });
      const completion = (await response.json()) as { choices: { message: { content: string } }[] };
      expect(completion.choices[0]?.message.content).toBe("You said: hello");
      const streamed = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "qwen3:8b", stream: true, messages: [{ role: "user", content: "weather?" }] }),
      });
      expect(streamed.headers.get("content-type")).toBe("text/event-stream");
      expect(await streamed.text()).toContain('"finish_reason":"tool_calls"');
      const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
      expect(models.data.map((model) => model.id)).toEqual(["qwen3:8b"]);
    } finally {
      child.kill("SIGINT");
    }
    expect(await child.exited).toBe(0);
    const stderr = await new Response(child.stderr).text();
    const lines = stderr.trim().split("\n");
    expect(lines.filter((line) => line.includes("POST /v1/chat/completions qwen3:8b → 200 rule"))).toHaveLength(2);
    expect(lines.some((line) => line.includes("GET /v1/models → 200"))).toBe(true);
    expect(lines.at(-1)).toBe("scripted model server stopped");
  });

  test("--context-tokens --context-overflow drop --ollama: says its window, runs /api/chat at num_ctx, drops and logs it", async () => {
    const { child, url } = await startCommand(
      "--port",
      "0",
      "--script",
      script,
      "--context-tokens",
      "4096",
      "--context-overflow",
      "drop",
      "--ollama",
    );
    try {
      expect(await (await fetch(`${url}/api/ps`)).json()).toEqual({ models: [{ name: "qwen3:8b", model: "qwen3:8b", context_length: 4096 }] });
      const show = await fetch(`${url}/api/show`, { method: "POST", body: JSON.stringify({ model: "qwen3:8b" }) });
      expect(await show.json()).toMatchObject({ model_info: { "general.architecture": "scripted", "scripted.context_length": 4096 } });
      const messages = [...Array.from({ length: 6 }, () => ({ role: "user", content: "x".repeat(400) })), { role: "user", content: "hello" }];
      const chat = await fetch(`${url}/api/chat`, {
        method: "POST",
        body: JSON.stringify({ model: "qwen3:8b", messages, options: { num_ctx: 300 } }),
      });
      const lines = (await chat.text())
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line));
      expect(lines.map((line) => line.message.content).join("")).toBe("You said: hello");
      expect(lines.at(-1)).toMatchObject({ done: true, done_reason: "stop" });
    } finally {
      child.kill("SIGINT");
    }
    expect(await child.exited).toBe(0);
    const stderr = await new Response(child.stderr).text();
    // Six messages of 104 tokens and the newest of 6: four go before the rest fits 300 (2 × 104 + 6).
    expect(stderr).toContain("POST /api/chat qwen3:8b → 200 rule 1 (214 of 300 tokens, 4 oldest messages dropped)");
  });

  test("stops cleanly on SIGTERM", async () => {
    const { child, url } = await startCommand("--port", "0", "--script", script);
    expect((await fetch(`${url}/api/tags`)).status).toBe(200);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  });

  test("a busy port says so and how to pick another", async () => {
    const busy = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("taken") });
    try {
      const result = await org("scripted-server", "--port", String(busy.port), "--script", script);
      expect(result.exitCode).toBe(1);
      expect(result.stderr).toContain(`port ${busy.port} is in use; pick another with --port`);
    } finally {
      await busy.stop(true);
    }
  });

  test("a bad script exits 1 with the file, the JSON path and the fix", async () => {
    const bad = scriptFile("bad.json", { rules: [{ reply: { wire: "ollama-v9" } }] });
    const result = await org("scripted-server", "--port", "0", "--script", bad);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(bad);
    expect(result.stderr).toContain("at rules[0].reply.wire");
    const broken = await org("scripted-server", "--port", "0", "--script", scriptFile("broken.json", "{"));
    expect(broken.exitCode).toBe(1);
    expect(broken.stderr).toContain("not valid JSON");
  });

  test("a file named playground in the project does not stand in for org's playground; ./playground names the file", async () => {
    // Issue 51 item 14: the README's tour step, run from a project that holds a file of that name.
    const project = mkdtempSync(join(directory, "project-"));
    writeFileSync(join(project, "playground"), JSON.stringify({ models: ["project-model"], rules: [{ reply: { text: "the project's own" } }] }));
    const bundled = await startCommandIn(project, "--port", "0", "--script", "playground");
    try {
      expect(bundled.firstLine).toContain("models: scripted, qwen3:8b");
      expect(bundled.firstLine).not.toContain("project-model");
    } finally {
      bundled.child.kill("SIGINT");
      await bundled.child.exited;
    }
    const file = await startCommandIn(project, "--port", "0", "--script", "./playground");
    try {
      expect(file.firstLine).toMatch(/\(1 rule; models: project-model\)$/);
    } finally {
      file.child.kill("SIGINT");
      await file.child.exited;
    }
  });

  test("--no-delays sends a paced script's replies at once; without it the script's wait holds", async () => {
    // Ten minutes before the first byte: while that wait holds nothing comes within a second on any machine; without it,
    // the reply comes within a minute on any.
    const paced = scriptFile("paced.json", { rules: [{ reply: { text: "at last", firstByteDelayMs: 600_000, delayMs: 600_000 } }] });
    const ask = (url: string, limitMs: number) =>
      fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        body: JSON.stringify({ model: "qwen3:8b", stream: true, messages: [{ role: "user", content: "hello" }] }),
        signal: AbortSignal.timeout(limitMs),
      }).then((response) => response.text());
    const instant = await startCommand("--port", "0", "--script", paced, "--no-delays");
    const held = await startCommand("--port", "0", "--script", paced);
    try {
      expect(await ask(instant.url, 60_000)).toContain('"content":"at last"');
      const heldFor = await ask(held.url, 1_000).catch((error: Error) => error.name);
      expect(heldFor).toBe("TimeoutError");
    } finally {
      instant.child.kill("SIGTERM");
      held.child.kill("SIGTERM");
    }
    expect([await instant.child.exited, await held.child.exited]).toEqual([0, 0]);
  });

  test("usage errors exit 2: no --script, a bad port, an unknown option", async () => {
    for (const args of [
      ["--port", "0"],
      ["--script", script, "--port", "http"],
      ["--script", script, "--verbose"],
      ["--script", script, "--context-tokens", "lots"],
      ["--script", script, "--context-tokens", "4096", "--context-overflow", "truncate"],
      ["--script", script, "--context-overflow", "drop"],
    ]) {
      const result = await org("scripted-server", ...args);
      expect({ args, exitCode: result.exitCode }).toEqual({ args, exitCode: 2 });
      expect(result.stderr).toContain("org scripted-server --help");
    }
  });

  test("--help shows usage, the defaults and an example", async () => {
    const result = await org("scripted-server", "--help");
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain("Usage: org scripted-server --script FILE|NAME [--script FILE|NAME …] [--port N]");
    expect(result.stdout).toContain("default 11434");
    expect(result.stdout).toContain("Example:");
  });
});
