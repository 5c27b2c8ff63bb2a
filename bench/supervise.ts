// org supervise's and org backup's own cost, each figure beside a baseline measured in the same run:
//   a round of every check on an idle workspace (a checkout with a few promotions, a scripted model server that
//     answers, no current in tmux, no model asked), after the first round (which starts one sandbox to check it and
//     reads every database once), against the round's own bookkeeping with checks that find nothing at once;
//   a backup of a workspace with `--sessions` transcripts (10 000 by default, ~4 KB each), its verify and its
//     restore, against `tar -czf` of the same .org/ folder with the system's tar (three pairs in turn, the median's ratio).
//   bun bench/supervise.ts [--sessions 10000] [--rounds 20]
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { restoreBackup } from "../backup/restore-backup.ts";
import { takeBackup } from "../backup/take-backup.ts";
import { verifyBackup } from "../backup/verify-backup.ts";
import { loadOrgConfig } from "../config/org-config.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { Sandbox } from "../sandbox/run-sandboxed.ts";
import { SUPERVISE_CHECKS } from "../supervise/supervise-checks.ts";
import type { Check, SuperviseContext } from "../supervise/supervise-check.ts";
import { superviseRound } from "../supervise/supervise-round.ts";
import { SupervisorState } from "../supervise/supervisor-state.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";

const { values } = parseArgs({ options: { sessions: { type: "string", default: "10000" }, rounds: { type: "string", default: "20" } } });
const sessionCount = Math.max(1, Number(values.sessions));
const rounds = Math.max(3, Number(values.rounds));
const median = (list: number[]) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const ms = (value: number) => `${value.toFixed(1)} ms`;
const seconds = (value: number) => `${(value / 1000).toFixed(2)} s`;
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

console.log(
  `bench/supervise: ${availableParallelism()} cores, bun ${Bun.version}, load ${loadavg()
    .map((load) => load.toFixed(1))
    .join(" ")}`,
);

// ── A round on an idle workspace ────────────────────────────────────────────────────────────────────────────
await using model = await startScriptedServer({ script: { models: ["scripted"], rules: [], fallback: { text: "hi" } } });
const repo = tempGitRepo("org-bench-supervise-");
const main = gitSync(repo.dir, ["rev-parse", "main"]).trim();
for (let index = 0; index < 5; index += 1) gitSync(repo.dir, ["tag", `promote/2026112${index}T101500Z`, main]);
const state = SupervisorState.open(repo.dir);
const context: SuperviseContext = {
  workspaceDir: repo.dir,
  repoDir: repo.dir,
  sandbox: new Sandbox(),
  config: loadOrgConfig(join(repo.dir, "org.config.json"), { OLLAMA_BASE: model.url, OLLAMA_MODEL: "scripted" }, { workspaceDir: repo.dir }),
  state,
  now: Date.now,
  instance: { port: 9, tmuxSession: `org-bench-${process.pid}`, startTimeoutMs: 60_000 },
  say: () => {},
  signal: AbortSignal.timeout(3_600_000),
};
const checks: Check[] = [...SUPERVISE_CHECKS];
const floorChecks: Check[] = checks.map((check) => ({
  name: check.name,
  run: async () => ({ state: "ok", detail: "nothing to see", findings: [] }),
}));
const time = async (run: () => Promise<unknown>) => {
  const started = performance.now();
  await run();
  return performance.now() - started;
};
const firstStarted = performance.now();
const firstSummary = await superviseRound(context, checks);
const first = performance.now() - firstStarted;
const round: number[] = [];
const floor: number[] = [];
const perCheck = new Map<string, number[]>();
for (let index = 0; index < rounds; index += 1) {
  // Read again each round, as a round's context is made (the workspace's secret files' values among them).
  delete context.workspaceSecrets;
  const started = performance.now();
  const summary = await superviseRound(context, checks);
  round.push(performance.now() - started);
  for (const check of summary.checks) perCheck.set(check.name, [...(perCheck.get(check.name) ?? []), check.ms]);
  floor.push(await time(() => superviseRound(context, floorChecks)));
}
console.log(
  `a round of every check (${checks.length}) on an idle workspace: first ${ms(first)}, then median ` +
    `${ms(median(round))} (max ${ms(Math.max(...round))}) over ${rounds} rounds`,
);
console.log(`  the first round by check: ${firstSummary.checks.map((check) => `${check.name} ${check.ms.toFixed(1)}`).join(", ")} ms`);
console.log(
  `  the round's bookkeeping alone (checks that find nothing at once): median ${ms(median(floor))}; ${(median(round) / median(floor)).toFixed(1)}×`,
);
console.log(`  by check (median): ${[...perCheck].map(([name, list]) => `${name} ${median(list).toFixed(1)}`).join(", ")} ms`);
console.log(
  `  targets: the first round ≤ 200 ms: ${first <= 200 ? "met" : "not met"}; a later round ≤ 200 ms: ${median(round) <= 200 ? "met" : "not met"}`,
);
state.close();
repo[Symbol.dispose]();

// ── A backup of 10 000 sessions ────────────────────────────────────────────────────────────────────────────
const scratch = mkdtempSync(join(tmpdir(), "org-bench-backup-"));
const big = tempGitRepo("org-bench-backup-repo-");
const sessions = join(big.dir, ".org", "sessions");
mkdirSync(sessions, { recursive: true, mode: 0o700 });
const line = (turn: number, text: string) =>
  `${JSON.stringify({ type: "message", persona: "agent", turnId: `t${turn}`, text, time: "2026-11-23T10:15:00.000Z" })}\n`;
for (let index = 0; index < sessionCount; index += 1) {
  const body = Array.from({ length: 12 }, (_, turn) =>
    line(turn, `reply ${index}.${turn}: ${"the quick brown fox jumps over the lazy dog ".repeat(6)}`),
  ).join("");
  writeFileSync(join(sessions, `20261123-${String(index).padStart(6, "0")}-abcdef.jsonl`), body);
}
const stateBytes = Number(
  Bun.spawnSync(["du", "-sb", join(big.dir, ".org")])
    .stdout.toString()
    .split("\t")[0],
);
// Taken in turn, three times each after a first of each, so a busy machine slows both alike; the ratio is the median pair's.
const tarOnce = () =>
  time(async () => {
    rmSync(join(scratch, "baseline.tar.gz"), { force: true });
    const child = Bun.spawn(["tar", "-czf", join(scratch, "baseline.tar.gz"), "-C", big.dir, ".org"], { stdout: "ignore", stderr: "inherit" });
    await child.exited;
  });
let backupPath = "";
const backupOnce = () =>
  time(async () => {
    if (backupPath) rmSync(backupPath, { force: true });
    backupPath = (await takeBackup({ repoDir: big.dir, workspaceDir: big.dir, dir: join(scratch, "backups") })).path;
  });
await tarOnce();
await backupOnce();
const pairs: { tar: number; backup: number }[] = [];
for (let run = 0; run < 3; run += 1) pairs.push({ tar: await tarOnce(), backup: await backupOnce() });
const middle = [...pairs].sort((a, b) => a.backup / a.tar - b.backup / b.tar)[1] ?? { tar: 1, backup: 1 };
const tarTime = middle.tar;
const backupTime = middle.backup;
const verifyTime = await time(() => verifyBackup(backupPath));
const restoreTime = await time(() => restoreBackup({ file: backupPath, to: join(scratch, "restored") }));
console.log(
  `a backup of ${sessionCount} sessions (${mib(stateBytes)} of .org/): ${seconds(backupTime)}, ` +
    `${mib(statSync(backupPath).size)}; verify ${seconds(verifyTime)}; restore ${seconds(restoreTime)}`,
);
console.log(
  `  tar -czf of the same .org/: ${seconds(tarTime)}, ` +
    `${mib(statSync(join(scratch, "baseline.tar.gz")).size)}; the backup ` +
    `${(backupTime / tarTime).toFixed(2)}× (with the bundle, the manifest's SHA-256s and the online database ` +
    `copies; the median of 3 pairs: ${pairs.map((pair) => (pair.backup / pair.tar).toFixed(2)).join(", ")})`,
);
console.log(`  target ≤ 1.2× tar -czf: ${backupTime / tarTime <= 1.2 ? "met" : "not met"}; load ${loadavg()[0]?.toFixed(1)}`);
big[Symbol.dispose]();
rmSync(scratch, { recursive: true, force: true });
