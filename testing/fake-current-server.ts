// A stand-in for `serve` in promote, rollback and fitness tests: answers /health with the commit its checkout
// was at when it started (ok=false when the checkout carries tools/generated/breaks_current/), and
// POST /v1/messages with a short event stream (1.5 s late when the checkout carries tools/generated/slow_tool/),
// and POST /v1/tools/<name>/run by importing the checkout's fixture tool (every answer off by one key when
// FAKE_BROKEN_RUNNER=1: a runner change that breaks old tools; FAKE_BROKEN_TOOL=<name>: only that tool's). Its /health
// names those switches among its settings, as serve names its own, and its pid, so whoever started it knows the
// answer is its own and not another test's server that took the port first.
import { existsSync } from "node:fs";
import { join } from "node:path";

const [portText, repoDir] = process.argv.slice(2);
if (!portText || !repoDir) throw new Error("usage: fake-current-server.ts PORT REPO");
const head = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: repoDir });
const commit = head.stdout.toString().trim();
const has = (tool: string) => existsSync(join(repoDir, "tools", "generated", tool));
const ok = !has("breaks_current");
const delayMs = has("slow_tool") ? 1_500 : 0;
// How it runs tools, as serve's /health tells it (`toolRunSettings`): here, the FAKE_* switches that change its answers.
const fakeSwitches = Object.entries(process.env).filter(([name]) => name.startsWith("FAKE_"));
const settings = new Bun.CryptoHasher("sha256").update(JSON.stringify(fakeSwitches.sort())).digest("hex");
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(portText),
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/health") return Response.json({ ok, commit, version: "0.0.0-fake", settings, pid: process.pid });
    if (path === "/v1/messages" && request.method === "POST") {
      const { text } = (await request.json()) as { text: string };
      await Bun.sleep(delayMs);
      const events = [{ type: "turn-start", text }, { type: "message", persona: "agent", text: `you said: ${text}` }, { type: "turn-end" }];
      return new Response(events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join(""), { headers: { "content-type": "text/event-stream" } });
    }
    const run = /^\/v1\/tools\/([a-z][a-z0-9_]{1,47})\/run$/.exec(path);
    if (run && request.method === "POST") {
      const name = run[1] as string;
      const file = join(repoDir, "tools", "generated", name, "tool.ts");
      if (!existsSync(file)) return Response.json({ error: { message: `there is no tool "${name}"` } }, { status: 404 });
      const { inputs } = (await request.json()) as { inputs: unknown };
      try {
        const tool = (await import(file)) as { default: (input: unknown) => unknown };
        const output = await tool.default(inputs);
        const broken = process.env.FAKE_BROKEN_RUNNER === "1" || process.env.FAKE_BROKEN_TOOL === name;
        const answered = broken ? { broken: output } : output;
        return Response.json({ tool: name, ok: true, output: JSON.stringify(answered), exitCode: null, durationMs: 1 });
      } catch (error) {
        return Response.json({ tool: name, ok: false, output: String(error), exitCode: null, durationMs: 1 });
      }
    }
    return new Response("no", { status: 404 });
  },
});
