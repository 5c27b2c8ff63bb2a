import { afterAll, describe, expect, test } from "bun:test";
import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PromotionJournal } from "../cycle/promotion-journal.ts";
import { deadPid, superviseFixture, webhookSink } from "../testing/supervise-fixture.ts";
import { gitSync } from "../testing/temp-git-repo.ts";
import { applyFixById, FixNotApplicableError } from "./apply-fix.ts";
import { leftoversCheck } from "./leftovers-check.ts";
import { locksCheck } from "./locks-check.ts";
import { mutePattern } from "./mutes.ts";
import type { Check, CheckResult } from "./supervise-check.ts";
import { superviseRound } from "./supervise-round.ts";
import { superviseStatus } from "./supervise-status.ts";
import { flushNotices } from "./webhook.ts";

// A webhook sink on loopback: every POST's headers and body, as a Slack or Discord endpoint would get them.
const sink = webhookSink();
const received = sink.received;
afterAll(() => sink.stop());

const SECRET = "pa55word-of-the-model-server";
const TOKEN = `ghp_${"A1b2C3d4".repeat(5)}`;

function deadLock(path: string, command: string): void {
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify({ pid: deadPid(), start: "1", since: "2026-11-23T09:00:00.000Z", command }), { mode: 0o600 });
}

describe("a round: incidents opened, fixes applied and verified, every step recorded and reported", () => {
  test("dead locks, a dead run's worktree and temporary files are cleared at once; a live lock is left alone; the webhook hears each, redacted and signed", async () => {
    using fixture = superviseFixture({ server: `http://supervisor:${SECRET}@127.0.0.1:9` });
    fixture.configure({ supervise: { webhook: sink.url, webhookSecret: "HOOK_SECRET", quietMinutes: 0 } });
    fixture.context.webhookSecret = "hook-signing-key";
    const org = join(fixture.dir, ".org");
    deadLock(join(org, "grow", "grow.lock"), `org grow --token ${TOKEN} (the server's ${SECRET})`);
    writeFileSync(join(org, "current.pid"), `${deadPid()}\n`);
    const live = join(org, "supervisor", "other.lock");
    writeFileSync(live, JSON.stringify({ pid: process.pid, start: "", since: "now", command: "this test" }), { mode: 0o600 });
    const worktree = join(fixture.context.repoDir, ".org", "worktrees", `toolsmith-${deadPid()}-0badc0de`);
    gitSync(fixture.context.repoDir, ["worktree", "add", "--quiet", "--detach", worktree, "main"]);
    writeFileSync(join(org, "grow", `proposals.json.${deadPid()}.abc123.tmp`), "{}");
    received.length = 0;

    const summary = await superviseRound(fixture.context, [locksCheck, leftoversCheck]);

    expect(summary.opened.map((incident) => incident.title).sort()).toEqual([
      `a lock of a dead process: ${join(org, "current.pid")}`,
      `a lock of a dead process: ${join(org, "grow", "grow.lock")}`,
      "temporary files of dead runs",
      "worktrees of dead runs",
    ]);
    expect(summary.fixes.map((fix) => `${fix.action} ${fix.state}`).sort()).toEqual([
      "clear-stale-lock verified",
      "clear-stale-lock verified",
      "remove-leftovers verified",
      "remove-leftovers verified",
    ]);
    expect(summary.resolved).toHaveLength(4);
    expect(existsSync(join(org, "grow", "grow.lock"))).toBe(false);
    expect(existsSync(join(org, "current.pid"))).toBe(false);
    expect(existsSync(worktree)).toBe(false);
    expect(gitSync(fixture.context.repoDir, ["worktree", "list"])).not.toContain("toolsmith-");
    expect(existsSync(live)).toBe(true);
    // Each fix's whole lifecycle is in the state.
    const fix = fixture.context.state.recentFixes(0).find((row) => row.action === "clear-stale-lock");
    expect(fixture.context.state.fixEvents(fix?.id ?? "").map((event) => event.state)).toEqual(["proposed", "applied", "verified"]);
    // The webhook heard an incident and a recovery of each; nothing secret, and every body signed.
    expect(received).toHaveLength(8);
    for (const message of received) {
      expect(message.body).not.toContain(SECRET);
      expect(message.body).not.toContain(TOKEN);
      expect(message.signature).toBe(`sha256=${createHmac("sha256", "hook-signing-key").update(message.body).digest("hex")}`);
      const body = JSON.parse(message.body) as { text: string; content: string };
      expect(body.content).toBe(body.text);
    }
    const lockMessage = received
      .map((message) => JSON.parse(message.body).text as string)
      .find((text) => text.includes("grow.lock") && text.includes("incident"));
    expect(lockMessage).toContain("[REDACTED]");
  });

  test("a fix autoFix does not list is proposed and waits; org supervise apply ID applies and verifies it; a second apply is refused", async () => {
    using fixture = superviseFixture();
    fixture.configure({ supervise: { autoFix: [] } });
    const lock = join(fixture.dir, ".org", "grow", "grow.lock");
    deadLock(lock, "org grow");
    const summary = await superviseRound(fixture.context, [locksCheck]);
    expect(summary.fixes.map((fix) => `${fix.action} ${fix.state}`)).toEqual(["clear-stale-lock proposed"]);
    expect(existsSync(lock)).toBe(true);
    // The next round proposes nothing new: the proposal still waits.
    const again = await superviseRound(fixture.context, [locksCheck]);
    expect(again.fixes).toEqual([]);
    const id = summary.fixes[0]?.id ?? "";
    const applied = await applyFixById(fixture.context, id);
    expect(applied.fix.state).toBe("verified");
    expect(applied.incident.state).toBe("resolved");
    expect(existsSync(lock)).toBe(false);
    await expect(applyFixById(fixture.context, id)).rejects.toThrow(FixNotApplicableError);
    await expect(applyFixById(fixture.context, "f0000000000")).rejects.toThrow("there is no fix");
  });

  test("an interrupted promotion a dead run left is proposed to be finished, never finished by itself; apply finishes it through the journal", async () => {
    using fixture = superviseFixture();
    const repo = fixture.context.repoDir;
    const main = gitSync(repo, ["rev-parse", "main"]).trim();
    const next = gitSync(repo, ["commit-tree", "-p", main, "-m", "promoted", `${main}^{tree}`]).trim();
    new PromotionJournal(repo).write({
      op: "promote",
      step: "planned",
      mainBefore: main,
      newMain: next,
      tag: "promote/20261123T101500Z",
      restart: false,
      startedAt: new Date().toISOString(),
    });
    deadLock(join(repo, ".org", "promotion.lock"), "promote or rollback");
    const summary = await superviseRound(fixture.context, [locksCheck]);
    const finish = summary.fixes.find((fix) => fix.action === "finish-interrupted");
    expect(finish?.state).toBe("proposed");
    expect(gitSync(repo, ["rev-parse", "main"]).trim()).toBe(main);
    const applied = await applyFixById(fixture.context, finish?.id ?? "");
    expect(applied.fix.state).toBe("verified");
    expect(applied.fix.detail).toContain("promote promote/20261123T101500Z finished");
    expect(gitSync(repo, ["rev-parse", "main"]).trim()).toBe(next);
    expect(gitSync(repo, ["rev-parse", "promote/20261123T101500Z"]).trim()).toBe(next);
  });

  test("a round whose check cannot judge (it throws, or what it watches is starting) leaves the open incident open: no false recovery", async () => {
    using fixture = superviseFixture();
    fixture.configure({ supervise: { webhook: sink.url, quietMinutes: 0, autoFix: [] } });
    const answers: (() => CheckResult)[] = [
      () => ({ state: "fail", detail: "down", findings: [{ key: "current", title: "current is down", detail: "its pane is dead" }] }),
      () => {
        throw new Error("tmux did not answer");
      },
      () => ({ state: "warn", detail: "starting; not judged yet", findings: [], undecided: true }),
      () => ({ state: "ok", detail: "healthy", findings: [] }),
    ];
    let round = 0;
    const check: Check = {
      name: "current",
      run: async () => answers[Math.min(round, answers.length - 1)]?.() ?? { state: "ok", detail: "", findings: [] },
    };
    received.length = 0;
    const opened = (await superviseRound(fixture.context, [check])).opened[0]?.id ?? "";
    for (round = 1; round <= 2; round += 1) {
      fixture.advance(60_000);
      const summary = await superviseRound(fixture.context, [check]);
      expect({ round, resolved: summary.resolved }).toEqual({ round, resolved: [] });
      expect(fixture.context.state.openIncidents("current").map((incident) => incident.id)).toEqual([opened]);
    }
    fixture.advance(60_000);
    expect((await superviseRound(fixture.context, [check])).resolved.map((incident) => incident.id)).toEqual([opened]);
    await flushNotices(fixture.context);
    const texts = received.map((message) => message.text);
    expect(texts).toEqual([expect.stringContaining(`incident ${opened}: current is down`), expect.stringContaining(`recovered ${opened}:`)]);
  });

  test("an independent check runs from the round's start, beside the checks before it; the findings are settled in the checks' order", async () => {
    using fixture = superviseFixture();
    fixture.configure({ supervise: { webhook: sink.url, quietMinutes: 0, autoFix: [] } });
    let probeStarted: () => void = () => {};
    const probing = new Promise<void>((resolve) => (probeStarted = resolve));
    const said: string[] = [];
    fixture.context.say = (line) => said.push(line);
    // The first check finishes only once the later, independent one has started: in turn, the round would never end.
    const first: Check = {
      name: "current",
      run: async () => {
        const bound = AbortSignal.timeout(10_000);
        await Promise.race([
          probing,
          new Promise((_, reject) => bound.addEventListener("abort", () => reject(new Error("the probe never started")))),
        ]);
        return { state: "fail", detail: "down", findings: [{ key: "current", title: "current is down", detail: "its pane is dead" }] };
      },
    };
    const probe: Check = {
      name: "sandbox",
      independent: true,
      run: async () => {
        probeStarted();
        return { state: "fail", detail: "no bwrap", findings: [{ key: "sandbox", title: "the sandbox is unusable", detail: "no bwrap" }] };
      },
    };
    const summary = await superviseRound(fixture.context, [first, probe]);
    expect(summary.checks.map((check) => `${check.name} ${check.state}`)).toEqual(["current fail", "sandbox fail"]);
    expect(summary.opened.map((incident) => incident.pattern)).toEqual(["current", "sandbox"]);
    expect(said.map((line) => line.replace(/^incident \S+: /, ""))).toEqual([
      "current is down: its pane is dead",
      "the sandbox is unusable: no bwrap",
    ]);
  });

  test("an opening, a fix that changed things, giving up and a recovery are each said once, at once, quiet time or not; a failed try that repeats is held and goes with the next", async () => {
    using fixture = superviseFixture();
    fixture.configure({ supervise: { webhook: sink.url, quietMinutes: 60, backoff: "10s", maxRestarts: 3 } });
    const kinds = () => received.map((message) => `${message.kind} ${message.key}`);
    const lock = join(fixture.dir, ".org", "grow", "grow.lock");
    received.length = 0;
    // A lock cleared at once: its opening (saying the fix under way) and its recovery, both at once.
    deadLock(lock, "org grow");
    const cleared = (await superviseRound(fixture.context, [locksCheck])).opened[0]?.id ?? "";
    expect(kinds()).toEqual([`opened ${cleared}`, `recovered ${cleared}`]);
    // A problem whose fix fails each time: the first failure is said; the next, within the quiet hour, is held.
    let present = true;
    const stuck: Check = {
      name: "locks",
      run: async () =>
        present
          ? {
              state: "fail",
              detail: "stuck",
              findings: [
                {
                  key: "stuck",
                  title: "a stuck lock",
                  detail: "held",
                  fix: { action: "clear-stale-lock", target: join(fixture.dir, ".org", "nowhere.lock"), detail: "clear it" },
                },
              ],
            }
          : { state: "ok", detail: "fine", findings: [] },
    };
    received.length = 0;
    const incident = (await superviseRound(fixture.context, [stuck])).opened[0]?.id ?? "";
    expect(kinds()).toEqual([`opened ${incident}`, `fix-failed ${incident}`]);
    for (let tries = 2; tries <= 4; tries += 1) {
      fixture.advance(10 * 2 ** tries * 1000);
      await superviseRound(fixture.context, [stuck]);
      await flushNotices(fixture.context);
    }
    // Three failures in a row: a person is needed, said at once, with the two failures held since before it in the same message.
    expect(kinds()).toEqual([`opened ${incident}`, `fix-failed ${incident}`, `gave-up ${incident}`]);
    const failed = new RegExp(`^\\[org supervise\\] fix f[0-9a-f]{10} \\(clear-stale-lock .*\\) of ${incident} failed: not applied: `);
    expect(received.at(-1)?.text.split("\n")).toEqual([
      expect.stringMatching(failed),
      expect.stringMatching(failed),
      expect.stringMatching(new RegExp(`^\\[org supervise\\] needs a person ${incident}: a stuck lock: clear-stale-lock .* failed 3 times in a row`)),
    ]);
    // It goes away within the quiet hour: the recovery is said at once; nothing of this incident is said twice.
    present = false;
    fixture.advance(60_000);
    await superviseRound(fixture.context, [stuck]);
    fixture.advance(2 * 60 * 60_000);
    await flushNotices(fixture.context);
    expect(kinds()).toEqual([`opened ${incident}`, `fix-failed ${incident}`, `gave-up ${incident}`, `recovered ${incident}`]);
    // The fourth failure, held after the give-up, went with the recovery.
    expect(received.at(-1)?.text.split("\n")).toEqual([expect.stringMatching(failed), expect.stringMatching(/^\[org supervise\] recovered /)]);
    // Muted: recorded in the state and the status, not sent.
    fixture.configure({ supervise: { webhook: sink.url, quietMinutes: 60, autoFix: [] } });
    mutePattern(fixture.context.state, "locks", undefined, fixture.context.now());
    const pid = join(fixture.dir, ".org", "stale.pid");
    writeFileSync(pid, `${deadPid()}\n`);
    fixture.advance(60 * 60_000);
    await superviseRound(fixture.context, [locksCheck]);
    await flushNotices(fixture.context);
    expect(received).toHaveLength(4);
    const status = superviseStatus(
      { workspaceDir: fixture.dir, repoDir: fixture.context.repoDir, config: fixture.context.config },
      fixture.context.state,
      fixture.context.now(),
    );
    expect(status.incidents.find((incident) => incident.key === pid)?.muted).toBe(true);
    expect(status.mutes).toEqual([{ pattern: "locks", until: null }]);
  });
  test("news the webhook did not take goes before the incident's next news: an opening never arrives after its recovery", async () => {
    using fixture = superviseFixture();
    let refusing = true;
    const heard: { kind: string; text: string }[] = [];
    const flaky = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(request) {
        const body = (await request.json()) as { kind: string; text: string };
        if (refusing) return new Response("down", { status: 503 });
        heard.push({ kind: body.kind, text: body.text });
        return new Response("ok");
      },
    });
    try {
      fixture.configure({ supervise: { webhook: `http://127.0.0.1:${flaky.port}/hook`, quietMinutes: 60, autoFix: [] } });
      const pid = join(fixture.dir, ".org", "stale.pid");
      writeFileSync(pid, `${deadPid()}\n`);
      const incident = (await superviseRound(fixture.context, [locksCheck])).opened[0]?.id ?? "";
      await flushNotices(fixture.context);
      expect(heard).toEqual([]);
      // The webhook is back as the problem goes: the opening first, then the recovery.
      refusing = false;
      rmSync(pid);
      fixture.advance(60_000);
      await superviseRound(fixture.context, [locksCheck]);
      await flushNotices(fixture.context);
      expect(heard.flatMap((message) => message.text.split("\n")).map((line) => line.split(" ").slice(2, 4).join(" "))).toEqual([
        `incident ${incident}:`,
        `recovered ${incident}:`,
      ]);
    } finally {
      flaky.stop(true);
    }
  });
});
