import { describe, expect, test } from "bun:test";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { EMPTY_CURSOR, writeGrowState } from "../grow/grow-state.ts";
import { noticeNeeds } from "../grow/notice-needs.ts";
import { JobsLog } from "../serve/jobs-log.ts";
import { deadPid, superviseFixture } from "../testing/supervise-fixture.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { diskCheck } from "./disk-check.ts";
import { logsCheck } from "./logs-check.ts";
import { superviseRound } from "./supervise-round.ts";
import { flushNotices } from "./webhook.ts";

const MIB = 1024 * 1024;
const line = (text: string) => `${JSON.stringify({ type: "message", persona: "agent", text, time: "2026-10-01T10:00:00.000Z" })}\n`;

/** Writes transcripts and has grow read them all to their end (its cursor), as a run would have. */
function transcripts(dir: string, files: Record<string, string>): void {
  mkdirSync(join(dir, ".org", "sessions"), { recursive: true, mode: 0o700 });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, ".org", "sessions", `${name}.jsonl`), text);
  writeGrowState(dir, {
    version: 1,
    cursor: noticeNeeds({ workspaceDir: dir, cursor: structuredClone(EMPTY_CURSOR), kindOf: () => undefined }).cursor,
    proposals: [],
  });
}

describe("pattern 3: the disk nearly full", () => {
  test("each step runs and says what it freed; a fix that leaves too little space fails its verification, and recovers once there is room", async () => {
    using fixture = superviseFixture();
    fixture.configure({ supervise: { keepReports: 1, archiveAfterDays: 30 } });
    let free = 100 * MIB;
    fixture.context.freeBytes = () => free;
    const old = "20261001-100000-aaaaaa";
    transcripts(fixture.dir, { [old]: line("an old session").repeat(50), "20261122-100000-bbbbbb": line("a recent one") });
    const monthAgo = (fixture.context.now() - 40 * 86_400_000) / 1000;
    utimesSync(join(fixture.dir, ".org", "sessions", `${old}.jsonl`), monthAgo, monthAgo);
    for (const [index, commit] of ["a", "b", "c"].map((letter) => letter.repeat(40)).entries()) {
      const folder = join(fixture.context.repoDir, ".org", "fitness", commit);
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      writeFileSync(join(folder, "20261123T101500000Z.json"), "{}");
      utimesSync(folder, 1_700_000_000 + index, 1_700_000_000 + index);
    }
    const jobs = new JobsLog(fixture.dir, false);
    for (let index = 0; index < 20; index += 1) {
      const id = `job-${String(index).padStart(8, "0")}`;
      jobs.accept({ id, text: "a job that finished long ago", acceptedAt: 1 });
      jobs.done(id);
    }
    jobs.close();
    const walBefore = statSync(join(fixture.dir, ".org", "serve", "jobs.wal")).size;

    const low = await superviseRound(fixture.context, [diskCheck]);
    expect(low.opened.map((incident) => incident.title)).toEqual([`disk nearly full under ${fixture.dir}`]);
    const fix = low.fixes[0];
    expect(fix?.state).toBe("failed");
    expect(fix?.detail).toContain("compacted serve's job log");
    expect(fix?.detail).toContain("archived 1 transcripts and audit days older than 30 days");
    expect(fix?.detail).toContain("dropped 2 fitness report folders past the newest 1");
    expect(fix?.detail).toContain("but the check still finds it");
    expect(statSync(join(fixture.dir, ".org", "serve", "jobs.wal")).size).toBeLessThan(walBefore);
    expect(existsSync(join(fixture.dir, ".org", "archive", "sessions", `${old}.jsonl.gz`))).toBe(true);
    expect(existsSync(join(fixture.dir, ".org", "sessions", "20261122-100000-bbbbbb.jsonl"))).toBe(true);
    expect(existsSync(join(fixture.context.repoDir, ".org", "fitness", "c".repeat(40)))).toBe(true);
    expect(existsSync(join(fixture.context.repoDir, ".org", "fitness", "a".repeat(40)))).toBe(false);

    free = 5 * 1024 * MIB;
    const later = await superviseRound(fixture.context, [diskCheck]);
    expect(later.resolved.map((incident) => incident.title)).toEqual([`disk nearly full under ${fixture.dir}`]);
  });
});

describe("a fix that keeps failing", () => {
  test("free-disk that cannot make room is reported as failed, tried again with backoff (not every round), and a person asked once", async () => {
    const hooks: { kind: string; text: string }[] = [];
    await using sink = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(request) {
        hooks.push(JSON.parse(await request.text()) as { kind: string; text: string });
        return new Response("ok");
      },
    });
    using fixture = superviseFixture();
    // More free space than any disk here has: the real free-disk steps run and cannot make room.
    fixture.configure({ supervise: { minFreeMiB: 10_000_000, backoff: "2s", maxRestarts: 4, quietMinutes: 1, webhook: `${sink.url}hook` } });
    for (let round = 0; round < 16; round += 1) {
      await superviseRound(fixture.context, [diskCheck]);
      await flushNotices(fixture.context);
      fixture.advance(2_000);
    }
    const tries = fixture.context.state.recentFixes(0).filter((fix) => fix.action === "free-disk");
    // 32 s of rounds every 2 s: tries at 0, 2 (after 2 s), 6 (4 s), 14 (8 s), 30 (16 s) — not one a round.
    expect(tries.map((fix) => fix.state)).toEqual(["failed", "failed", "failed", "failed", "failed"]);
    fixture.advance(60_000);
    await flushNotices(fixture.context);
    const incident = fixture.context.state.openIncidents("disk")[0]?.id;
    // The opening and the first failure at once; the next failures held by the quiet minute and sent with the give-up,
    // said at once (once); the last failure when the quiet minute is over.
    expect(hooks.map((hook) => hook.kind)).toEqual(["opened", "fix-failed", "gave-up", "fix-failed"]);
    expect(hooks[0]?.text).toStartWith(`[org supervise] incident ${incident}: disk nearly full`);
    const failed = /fix f[0-9a-f]{10} \(free-disk [^)]*\) of i[0-9a-f]{10} failed: freed/g;
    const notices = fixture.context.state.eventsBetween(0, Number.MAX_SAFE_INTEGER).filter((event) => event.kind === "notice");
    expect(notices.filter((event) => event.text.match(failed))).toHaveLength(5);
    expect(hooks[1]?.text.match(failed)).toHaveLength(1);
    // The three failures held: what does not fit one message (Discord takes 2 000 characters) is counted, the oldest first.
    const gaveUp = hooks[2]?.text ?? "";
    const leftOut = Number(/^\((\d+) earlier messages? of this incident left out\)\n/.exec(gaveUp)?.[1] ?? 0);
    expect(leftOut + (gaveUp.match(failed)?.length ?? 0)).toBe(3);
    expect(gaveUp.length).toBeLessThanOrEqual(1900);
    expect(gaveUp.split("\n").at(-1)).toMatch(/^\[org supervise\] needs a person .*failed 4 times in a row \(supervise\.maxRestarts 4\)/);
    expect(hooks[3]?.text.match(failed)).toHaveLength(1);
  });
});

describe("pattern 10: a log over its cap", () => {
  test("a closed transcript grow has read is gzipped into .org/archive/; one a process holds open, or grow has not read, stays", async () => {
    using fixture = superviseFixture();
    fixture.configure({ supervise: { logCapMiB: 0.0005 } });
    const text = line("x".repeat(200)).repeat(5);
    transcripts(fixture.dir, { "20261123-100000-aaaaaa": text, "20261123-100000-bbbbbb": text });
    writeFileSync(join(fixture.dir, ".org", "sessions", "20261123-100000-cccccc.jsonl"), text);
    const held = join(fixture.dir, ".org", "sessions", "20261123-100000-bbbbbb.jsonl");
    const holder = Bun.spawn(["tail", "-f", held], { stdout: "ignore", stderr: "ignore" });
    try {
      await waitUntil(
        "tail to hold the transcript open",
        () => readFileSync(`/proc/${holder.pid}/cmdline`, "utf8").includes("bbbbbb") && existsSync(`/proc/${holder.pid}/fd/3`),
        10_000,
      );
      const summary = await superviseRound(fixture.context, [logsCheck]);
      expect(summary.opened).toHaveLength(3);
      expect(summary.fixes.map((fix) => `${fix.action} ${fix.target} ${fix.state}`)).toEqual([
        `rotate-logs ${join(fixture.dir, ".org", "sessions", "20261123-100000-aaaaaa.jsonl")} verified`,
      ]);
      const archived = join(fixture.dir, ".org", "archive", "sessions", "20261123-100000-aaaaaa.jsonl.gz");
      expect(gunzipSync(readFileSync(archived)).toString()).toBe(text);
      const open = fixture.context.state.openIncidents("logs").map((incident) => incident.detail);
      expect(open.find((detail) => detail.includes("bbbbbb"))).toContain(`pid ${holder.pid} has it open`);
      expect(open.find((detail) => detail.includes("cccccc"))).toContain("org grow has not read it to its end yet");
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test("over the total cap, the rotation takes what frees the most: today's audit log, as a numbered part; when all is held it says what holds the space, and nothing is called failed", async () => {
    using fixture = superviseFixture();
    fixture.configure({ supervise: { logCapMiB: 64, logsTotalMiB: 0.5 } });
    const today = new Date(fixture.context.now()).toISOString().slice(0, 10);
    const audit = join(fixture.dir, ".org", "audit", `${today}.jsonl`);
    const call = `${JSON.stringify({ time: new Date(fixture.context.now()).toISOString(), tool: "shell", arguments: { command: "x".repeat(400) }, ok: true, exitCode: 0, durationMs: 1, bytes: 0 })}\n`;
    mkdirSync(join(fixture.dir, ".org", "audit"), { recursive: true, mode: 0o700 });
    writeFileSync(audit, call.repeat(2_000));
    const small = Object.fromEntries(
      ["a", "b", "c", "d", "e"].map((letter) => [`20261123-10000${letter === "a" ? 0 : 1}-${letter.repeat(6)}`, line("hi")]),
    );
    transcripts(fixture.dir, small);

    const round = await superviseRound(fixture.context, [logsCheck]);
    expect(round.fixes.map((fix) => `${fix.action} ${fix.target} ${fix.state}`)).toEqual(["rotate-logs largest verified"]);
    expect(round.fixes[0]?.detail).toContain(`rotated ${audit} into .org/archive/`);
    expect(existsSync(audit)).toBe(false);
    expect(gunzipSync(readFileSync(join(fixture.dir, ".org", "archive", "audit", `${today}.jsonl.gz`))).toString()).toBe(call.repeat(2_000));
    for (const name of Object.keys(small)) expect(existsSync(join(fixture.dir, ".org", "sessions", `${name}.jsonl`))).toBe(true);
    // The day goes on: the next lines start a new file, which in its turn becomes part 2.
    writeFileSync(audit, call.repeat(2_000));
    transcripts(fixture.dir, small);
    fixture.advance(60_000);
    await superviseRound(fixture.context, [logsCheck]);
    expect(existsSync(join(fixture.dir, ".org", "archive", "audit", `${today}.jsonl.2.gz`))).toBe(true);

    // Held open by a process, nothing may be rotated: no fix is tried, and the incident says what holds the space.
    writeFileSync(audit, call.repeat(2_000));
    transcripts(fixture.dir, small);
    const holder = Bun.spawn(["tail", "-f", audit], { stdout: "ignore", stderr: "ignore" });
    try {
      // Its fd 3 alone is no sign: the loader opens its cache and libc there first, and a busy machine was caught between.
      const opened = () => readdirSync(`/proc/${holder.pid}/fd`).some((fd) => linkOf(`/proc/${holder.pid}/fd/${fd}`) === realpathSync(audit));
      await waitUntil("tail to hold the audit log open", opened, 10_000);
      fixture.advance(60_000);
      const held = await superviseRound(fixture.context, [logsCheck]);
      expect(held.fixes).toEqual([]);
      const incident = fixture.context.state.openIncidents("logs").find((row) => row.key === "total");
      expect(incident?.detail).toContain(`none of them can be rotated now (held: ${audit}`);
      expect(incident?.detail).toContain(`pid ${holder.pid} has it open`);
      expect(fixture.context.state.recentFixes(0).filter((fix) => fix.state === "failed")).toEqual([]);
    } finally {
      holder.kill();
      await holder.exited;
    }
  });

  test("a log a rotation moved aside and never finished (its process died) is rotated under its own name, nothing of it lost", async () => {
    using fixture = superviseFixture();
    fixture.configure({ supervise: { logCapMiB: 0.0005 } });
    const text = line("y".repeat(200)).repeat(5);
    transcripts(fixture.dir, { "20261123-100000-ffffff": text });
    const sessions = join(fixture.dir, ".org", "sessions");
    renameSync(join(sessions, "20261123-100000-ffffff.jsonl"), join(sessions, `20261123-100000-ffffff.jsonl.rotating-${deadPid()}`));
    const round = await superviseRound(fixture.context, [logsCheck]);
    expect(round.fixes.map((fix) => fix.state)).toEqual(["verified"]);
    expect(readdirSync(sessions)).toEqual([]);
    expect(gunzipSync(readFileSync(join(fixture.dir, ".org", "archive", "sessions", "20261123-100000-ffffff.jsonl.gz"))).toString()).toBe(text);
  });
});

/** Where a /proc fd link points, or undefined once it is gone. */
function linkOf(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}
