// serve's jobs under a flood: N jobs of K KB posted to a real `org serve` (a scripted model answers), honouring
// 429 + Retry-After. Every `--every` jobs it prints the server's RSS (VmRSS of its process), the size of
// `.org/serve/jobs.wal` and of `.org/serve/results/`, and at the end the ratios against two baselines taken in the
// same run: the idle server just started, and the server after the first checkpoint (warm).
//   bun bench/jobs.ts [--jobs 10000] [--kb 60] [--every 1000] [--workers 2] [--ttl 120] [--posters 4]
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { startOrgServe } from "../testing/org-serve-process.ts";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "10000" },
    kb: { type: "string", default: "60" },
    every: { type: "string", default: "1000" },
    workers: { type: "string", default: "2" },
    ttl: { type: "string", default: "120" },
    posters: { type: "string", default: "4" },
  },
});
const total = Number(values.jobs);
const every = Number(values.every);
const filler = "lorem ipsum ".repeat(Math.ceil((Number(values.kb) * 1024) / 12)).slice(0, Number(values.kb) * 1024);

const workspace = mkdtempSync(join(tmpdir(), "org-bench-jobs-"));
const model = await startScriptedServer({ script: { rules: [{ reply: { text: "ok" } }] }, port: 0 });
const serve = await startOrgServe({
  workspace,
  modelUrl: model.url,
  env: { ORG_SERVE_JOB_TTL_S: values.ttl as string },
  args: ["--workers", values.workers as string],
});
const serveDir = join(workspace, ".org", "serve");

function rssMb(): number {
  const status = readFileSync(`/proc/${serve.child.pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) / 1024;
}
function walMb(): number {
  return statSync(join(serveDir, "jobs.wal")).size / 1024 / 1024;
}
function resultsMb(): { files: number; mb: number } {
  let bytes = 0;
  let files = 0;
  for (const name of readdirSync(join(serveDir, "results"))) {
    try {
      bytes += statSync(join(serveDir, "results", name)).size;
      files += 1;
    } catch {
      // expired meanwhile
    }
  }
  return { files, mb: bytes / 1024 / 1024 };
}

type Sample = { posted: number; rss: number; wal: number; results: { files: number; mb: number }; seconds: number };
const started = performance.now();
const sample = (posted: number): Sample => ({
  posted,
  rss: rssMb(),
  wal: walMb(),
  results: resultsMb(),
  seconds: (performance.now() - started) / 1000,
});
const show = (label: string, at: Sample) =>
  console.log(
    `${label.padEnd(14)} posted ${String(at.posted).padStart(6)}  RSS ${at.rss.toFixed(1).padStart(6)} MB  ` +
      `jobs.wal ${at.wal.toFixed(2).padStart(7)} MB  results ${String(at.results.files).padStart(5)} files ` +
      `${at.results.mb.toFixed(1).padStart(7)} MB  ${at.seconds.toFixed(0).padStart(5)} s`,
  );

console.log(
  `jobs bench — ${total} jobs of ${values.kb} KB, ${values.workers} workers, ` +
    `ORG_SERVE_JOB_TTL_S=${values.ttl}, ${values.posters} posters; nproc ${availableParallelism()}; bun ` +
    `${Bun.version}; load ${loadavg()[0]?.toFixed(1)}`,
);
const idle = sample(0);
show("idle", idle);

let next = 0;
let refused = 0;
let peakRss = idle.rss;
let peakWal = idle.wal;
const lastIds: string[] = [];
const checkpoints: Sample[] = [];
async function poster(): Promise<void> {
  for (;;) {
    const index = next++;
    if (index >= total) return;
    const body = JSON.stringify({ text: `job ${index}: ${filler}`, mode: "direct:agent" });
    for (;;) {
      const response = await fetch(`${serve.url}/v1/jobs`, { method: "POST", headers: { "content-type": "application/json" }, body });
      if (response.status === 202) {
        const { id } = (await response.json()) as { id: string };
        if (index >= total - Number(values.workers) * 2) lastIds.push(id);
        break;
      }
      await response.body?.cancel();
      if (response.status !== 429) throw new Error(`POST /v1/jobs answered ${response.status}`);
      refused += 1;
      await Bun.sleep(Number(response.headers.get("retry-after") ?? "1") * 1000);
    }
    if ((index + 1) % every === 0) {
      const at = sample(index + 1);
      checkpoints.push(at);
      show(`checkpoint`, at);
    }
  }
}
const watcher = setInterval(() => {
  peakRss = Math.max(peakRss, rssMb());
  peakWal = Math.max(peakWal, walMb());
}, 250);
try {
  await Promise.all(Array.from({ length: Number(values.posters) }, () => poster()));
  // Jobs run in order of arrival: once the last few are finished, all are.
  for (const id of lastIds) {
    for (;;) {
      const view = (await (await fetch(`${serve.url}/v1/jobs/${id}`)).json()) as { state?: string };
      if (view.state === "done" || view.state === "failed" || view.state === undefined) break;
      await Bun.sleep(200);
    }
  }
  clearInterval(watcher);
  const end = sample(total);
  show("all finished", end);
  const warm = checkpoints[0] ?? end;
  console.log(`429 answers: ${refused}; peak RSS ${peakRss.toFixed(1)} MB; peak jobs.wal ${peakWal.toFixed(2)} MB (sampled every 250 ms)`);
  console.log(
    `posted ${((total * Number(values.kb)) / 1024).toFixed(0)} MB in all; jobs.wal at the end ` +
      `${end.wal.toFixed(2)} MB, peak ${peakWal.toFixed(2)} MB ` +
      `(${((peakWal / ((total * Number(values.kb)) / 1024)) * 100).toFixed(2)}% of what was posted)`,
  );
  console.log(
    `RSS: end / idle ${(end.rss / idle.rss).toFixed(2)}×, end / warm (after ${warm.posted}) ` +
      `${(end.rss / warm.rss).toFixed(2)}×, peak / idle ${(peakRss / idle.rss).toFixed(2)}×; jobs.wal: end / ` +
      `warm ${(end.wal / Math.max(warm.wal, 0.001)).toFixed(2)}×`,
  );
} finally {
  clearInterval(watcher);
  await serve.stop();
  await model.stop();
  rmSync(workspace, { recursive: true, force: true });
}
