// A stand-in for `serve` in promote, rollback and fitness tests: answers /health with the commit its checkout
// was at when it started (ok=false when the checkout carries tools/generated/breaks_current/), and
// POST /v1/messages with a short event stream (1.5 s late when the checkout carries tools/generated/slow_tool/).
import { existsSync } from "node:fs";
import { join } from "node:path";

const [portText, repoDir] = process.argv.slice(2);
if (!portText || !repoDir) throw new Error("usage: fake-current-server.ts PORT REPO");
const head = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: repoDir });
const commit = head.stdout.toString().trim();
const has = (tool: string) => existsSync(join(repoDir, "tools", "generated", tool));
const ok = !has("breaks_current");
const delayMs = has("slow_tool") ? 1_500 : 0;
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(portText),
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (path === "/health") return Response.json({ ok, commit });
    if (path === "/v1/messages" && request.method === "POST") {
      const { text } = (await request.json()) as { text: string };
      await Bun.sleep(delayMs);
      const events = [
        { type: "turn-start", text },
        { type: "message", persona: "agent", text: `you said: ${text}` },
        { type: "turn-end" },
      ];
      return new Response(events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join(""), { headers: { "content-type": "text/event-stream" } });
    }
    return new Response("no", { status: 404 });
  },
});
