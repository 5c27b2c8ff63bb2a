// bench/room.ts — eight personas streaming into one room at once, against one persona alone, in the same run.
// The scripted model server runs in a child process so its CPU is not counted as the room's.
// Reports, per persona: added latency to the first streamed token and to the first token visible on the
// console (the renderer shows one block live, the rest follow), and the room's CPU time per 1 000 tokens.
import { mkdtempSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig, type OrgConfig } from "../config/org-config.ts";
import { createConsoleRenderer } from "../cli/chat/console-renderer.ts";
import { openRoom } from "../room/room.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const PERSONAS = 8;
const RUNS = 5;
const WORDS = 300; // about one token each
const CHUNK = 6; // characters per SSE chunk, like a model's few-token deltas
const DELAY_MS = 1; // between chunks

const script = {
  models: ["bench:1b"],
  rules: [],
  fallback: { text: Array.from({ length: WORDS }, (_, index) => `w${index % 10}`).join(" "), chunkSize: CHUNK, delayMs: DELAY_MS },
};

async function startServerProcess(): Promise<{ url: string; stop(): Promise<void> }> {
  const module = JSON.stringify(join(import.meta.dir, "..", "scripted-server", "start-scripted-server.ts"));
  const code = `import { startScriptedServer } from ${module};
    const server = await startScriptedServer({ script: ${JSON.stringify(script)}, port: 0 });
    console.log(server.url);
    process.stdin.on("end", () => server.stop().then(() => process.exit(0)));
    process.stdin.resume();`;
  const child = Bun.spawn([process.execPath, "-e", code], { stdin: "pipe", stdout: "pipe", stderr: "inherit" });
  const first = await child.stdout.getReader().read();
  const url = new TextDecoder().decode(first.value).trim();
  if (!url.startsWith("http")) throw new Error(`the scripted server did not start (it printed ${JSON.stringify(url)})`);
  return {
    url,
    async stop() {
      child.stdin.end();
      await Promise.race([child.exited, Bun.sleep(2000)]);
      child.kill();
    },
  };
}

type RunResult = { streamFirstMs: number[]; visibleFirstMs: number[]; tokens: number; cpuMs: number };

async function runOnce(config: OrgConfig, workspaceDir: string): Promise<RunResult> {
  const names = config.personas.map((persona) => persona.name);
  const width = Math.max(...names.map((name) => name.length));
  let started = 0;
  const visible = new Map<string, number>();
  const renderer = createConsoleRenderer({
    color: false,
    write(text) {
      if (visible.size === names.length) return;
      const now = performance.now();
      for (const name of names) if (!visible.has(name) && text.includes(`${name.padEnd(width)} │ `)) visible.set(name, now - started);
    },
  });
  const streamed = new Map<string, number>();
  const room = await openRoom({
    config,
    workspaceDir,
    tools: [],
    ...testSandboxAccess(),
    onEvent(event) {
      if (event.type === "text-delta" && !streamed.has(event.persona)) streamed.set(event.persona, performance.now() - started);
      renderer.handle(event);
    },
  });
  try {
    const cpuBefore = process.cpuUsage();
    started = performance.now();
    const summary = await room.send("go");
    await renderer.idle();
    const cpu = process.cpuUsage(cpuBefore);
    if (!summary.ok) throw new Error(`a reply failed: ${summary.errors.map((error) => error.message).join("; ")}`);
    return {
      streamFirstMs: names.map((name) => streamed.get(name) ?? Number.NaN),
      visibleFirstMs: names.map((name) => visible.get(name) ?? Number.NaN),
      tokens: Object.values(summary.stats).reduce((sum, stats) => sum + stats.completionTokens, 0),
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  } finally {
    await room.close();
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

function roomConfig(url: string, count: number, workspaceDir: string): OrgConfig {
  const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: url, OLLAMA_MODEL: "bench:1b" });
  config.personas = Array.from({ length: count }, (_, index) => ({
    name: `p${index}`,
    kind: "simple" as const,
    model: "bench:1b",
    server: url,
    tools: {},
    contextMessages: 4,
  }));
  // Enough slots that all eight stream at once, like OLLAMA_NUM_PARALLEL=8.
  config.servers[url] = { concurrency: count };
  return config;
}

const server = await startServerProcess();
const workspaceDir = mkdtempSync(join(tmpdir(), "org-bench-room-"));
try {
  console.log(`bench/room.ts — ${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown cpu"}), bun ${Bun.version}`);
  console.log(`each reply: ${WORDS} words in ${CHUNK}-character chunks, ${DELAY_MS} ms apart; median of ${RUNS} runs\n`);
  const single = roomConfig(server.url, 1, workspaceDir);
  const eight = roomConfig(server.url, PERSONAS, workspaceDir);
  await runOnce(single, workspaceDir); // warm-up: JIT, sockets
  await runOnce(eight, workspaceDir);
  const singleRuns: RunResult[] = [];
  const eightRuns: RunResult[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    singleRuns.push(await runOnce(single, workspaceDir));
    eightRuns.push(await runOnce(eight, workspaceDir));
  }
  const baseStream = median(singleRuns.map((run) => run.streamFirstMs[0] as number));
  const baseVisible = median(singleRuns.map((run) => run.visibleFirstMs[0] as number));
  console.log(`baseline, 1 persona: first token ${baseStream.toFixed(2)} ms after send (streamed), ${baseVisible.toFixed(2)} ms (visible)`);
  console.log("\n8 personas at once     added to first token   added to first visible token");
  for (let index = 0; index < PERSONAS; index += 1) {
    const stream = median(eightRuns.map((run) => run.streamFirstMs[index] as number)) - baseStream;
    const shown = median(eightRuns.map((run) => run.visibleFirstMs[index] as number)) - baseVisible;
    console.log(`  p${index}                   ${stream.toFixed(2).padStart(8)} ms            ${shown.toFixed(2).padStart(8)} ms`);
  }
  const cpuPerThousand = (runs: RunResult[]) => median(runs.map((run) => (run.cpuMs / run.tokens) * 1000));
  const single1k = cpuPerThousand(singleRuns);
  const eight1k = cpuPerThousand(eightRuns);
  console.log(
    `\nroom CPU time per 1 000 tokens: ${single1k.toFixed(1)} ms with 1 persona, ${eight1k.toFixed(1)} ms ` +
      `with 8 (×${(eight1k / single1k).toFixed(2)})`,
  );
  console.log(
    `tokens per run: ${median(singleRuns.map((run) => run.tokens))} (1 persona), ${median(eightRuns.map((run) => run.tokens))} (8 personas)`,
  );
  console.log("\n'visible' counts the console's one-block-at-a-time rule: a persona's first token shows once the blocks before it are written.");
} finally {
  await server.stop();
  rmSync(workspaceDir, { recursive: true, force: true });
}
