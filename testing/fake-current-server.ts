// A stand-in for `serve` in promote/rollback tests: answers /health with the commit its checkout was at when it
// started, and ok=false when the checkout carries tools/generated/breaks_current/ (a candidate that breaks current).
import { existsSync } from "node:fs";
import { join } from "node:path";

const [portText, repoDir] = process.argv.slice(2);
if (!portText || !repoDir) throw new Error("usage: fake-current-server.ts PORT REPO");
const head = Bun.spawnSync(["git", "rev-parse", "HEAD"], { cwd: repoDir });
const commit = head.stdout.toString().trim();
const ok = !existsSync(join(repoDir, "tools", "generated", "breaks_current"));
Bun.serve({
  hostname: "127.0.0.1",
  port: Number(portText),
  fetch: (request) => (new URL(request.url).pathname === "/health" ? Response.json({ ok, commit }) : new Response("no", { status: 404 })),
});
