// bench/browser.ts — the agent's `browser` tool as the room runs it: Chromium in the real sandbox, its only network the
// egress guard, driven through the tool (runTool, its arguments checked, its result redacted), against a small page this
// bench serves on 127.0.0.1 as the host public.test (made "public" for the guard alone, as the tool's own tests do).
//   cold: a new session's first `open` of the small page to its first snapshot (the sandbox, Chromium, the page);
//   warm: in a session already open, `type` into a field and `click` a link to the next page, each with its snapshot
//   (then `open` the small page again, not counted);
//   memory: the RSS of the browser's process tree (each process's own, summed) and its PSS (shared pages split).
// Targets (issue 77): cold ≤ 1.5 s, a warm action ≤ 300 ms on 2 cores. Medians, with the core count and the load.
//   bun bench/browser.ts [--cold 5] [--warm 20]
import { chmodSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { egressRules } from "../config/egress-policy.ts";
import { DEFAULT_BROWSER } from "../config/browser-settings.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { descendants } from "../testing/process-tree.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { browserTool } from "../tools/browser.ts";
import { BrowserSessions } from "../tools/browser-session.ts";
import { runTool, type ToolContext, toolSet } from "../tools/define-tool.ts";

const { values } = parseArgs({ options: { cold: { type: "string", default: "5" }, warm: { type: "string", default: "20" } } });
const coldRuns = Number(values.cold);
const warmRuns = Number(values.warm);

const median = (numbers: number[]) => [...numbers].sort((a, b) => a - b)[Math.floor(numbers.length / 2)] ?? Number.NaN;
const ms = (value: number) => `${value.toFixed(0)} ms`;
const links = Array.from({ length: 14 }, (_, index) => `<li><a href="/next?${index}">Item ${index}</a></li>`).join("");
const SMALL = `<!doctype html><html><head><title>A small shop</title></head><body><h1>Welcome</h1><ul>${links}</ul>
  <form><label>Email <input name="email"></label><label>Name <input name="name"></label><label>Note <textarea></textarea></label>
  <button>Send</button></form></body></html>`;
const NEXT = "<!doctype html><html><head><title>Next</title></head><body><h1>The next page</h1><p>Some words.</p></body></html>";
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (request) =>
    new Response(new URL(request.url).pathname === "/next" ? NEXT : SMALL, { headers: { "content-type": "text/html; charset=utf-8" } }),
});
const port = server.port ?? 0;
const base = `http://public.test:${port}`;
const seams = { resolver: async (host: string) => (host === "public.test" ? ["127.0.0.1"] : ["10.0.0.9"]), treatAsPublic: new Set(["127.0.0.1"]) };
// As many actions a minute as the bench takes: the tool's limit is the person's, not what is measured.
const settings = { ...DEFAULT_BROWSER, perMinute: 100_000 };
const sessions = new BrowserSessions(settings, seams);
const tools = toolSet([browserTool({ settings, sessions })]);
const workspaceDir = mkdtempSync(join(tmpdir(), "org-bench-browser-"));
// The sandbox drops to another uid, which must be able to enter the session's scratch inside.
chmodSync(workspaceDir, 0o755);
const access = testSandboxAccess(sandboxPolicy({ poolSize: 0, workspace: "none", egress: egressRules({ allow: ["public.test"], ports: [port] }) }));
const contextOf = (sessionId: string): ToolContext => ({
  ...access,
  signal: AbortSignal.timeout(600_000),
  workspaceDir,
  sessionId,
  persona: "agent",
});

/** One action, timed from the call to its result; throws on a failed one (the bench measures only what works). */
async function timed(context: ToolContext, args: Record<string, unknown>): Promise<{ ms: number; output: string }> {
  const started = performance.now();
  const result = await runTool(tools, { name: "browser", arguments: args }, context);
  const took = performance.now() - started;
  if (!result.ok) throw new Error(`browser ${JSON.stringify(args)} failed: ${result.output.slice(0, 400)}`);
  return { ms: took, output: result.output };
}

const refOf = (output: string, line: RegExp) => {
  const ref = /\[ref=(e\d+)\]/.exec(output.split("\n").find((candidate) => line.test(candidate)) ?? "")?.[1];
  if (!ref) throw new Error(`no ref for ${line} in:\n${output.slice(0, 2_000)}`);
  return ref;
};

/** A process tree's memory in MiB: each process's RSS summed (shared pages counted in each), and its PSS (split). */
function memoryOf(pid: number): { rss: number; pss: number } {
  let rss = 0;
  let pss = 0;
  for (const each of [pid, ...descendants(pid)]) {
    try {
      rss += Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${each}/status`, "utf8"))?.[1] ?? 0);
      pss += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${each}/smaps_rollup`, "utf8"))?.[1] ?? 0);
    } catch {
      // Gone meanwhile, or another user's: counted as nothing.
    }
  }
  return { rss: rss / 1024, pss: pss / 1024 };
}

try {
  const cold: number[] = [];
  for (let run = 0; run < coldRuns; run++) {
    const context = contextOf(`bench-cold-${run}`);
    const opened = await timed(context, { action: "open", url: `${base}/` });
    if (!opened.output.includes('- heading "Welcome"')) throw new Error(`the first snapshot has no heading:\n${opened.output.slice(0, 2_000)}`);
    cold.push(opened.ms);
    await timed(context, { action: "close" });
  }

  const context = contextOf("bench-warm");
  let page = (await timed(context, { action: "open", url: `${base}/` })).output;
  const typed: number[] = [];
  const clicked: number[] = [];
  for (let run = 0; run < warmRuns; run++) {
    const typing = await timed(context, { action: "type", ref: refOf(page, /textbox "Email/), text: `ada${run}@example.org` });
    typed.push(typing.ms);
    const click = await timed(context, { action: "click", ref: refOf(typing.output, /link "Item 3"/) });
    if (!click.output.includes("The next page")) throw new Error(`the click did not reach the next page:\n${click.output.slice(0, 2_000)}`);
    clicked.push(click.ms);
    page = (await timed(context, { action: "open", url: `${base}/` })).output;
  }
  const pid = sessions.of(context).process?.pid;
  const memory = pid === undefined ? undefined : memoryOf(pid);

  const [load1] = loadavg();
  const verdict = (value: number, target: number) => `median ${ms(value)}; target ≤ ${target} ms: ${value <= target ? "met" : "not met"}`;
  console.log(`bench:browser — ${availableParallelism()} cores, load ${load1?.toFixed(1)}`);
  console.log(`cold open to the first snapshot (${cold.length} runs: ${cold.map(ms).join(", ")}): ${verdict(median(cold), 1500)}`);
  console.log(`warm type + snapshot (${typed.length} runs): ${verdict(median(typed), 300)}`);
  console.log(`warm click to a new page + snapshot (${clicked.length} runs): ${verdict(median(clicked), 300)}`);
  const said = memory && `RSS ${memory.rss.toFixed(0)} MiB summed over its processes, PSS ${memory.pss.toFixed(0)} MiB`;
  console.log(`memory of one session's browser: ${said ?? "its process was not found"}`);
} finally {
  await sessions.closeAll();
  server.stop(true);
  rmSync(workspaceDir, { recursive: true, force: true });
}
