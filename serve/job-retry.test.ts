import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { RoomEvent } from "../room/room-event.ts";
import type { ScriptInput } from "../scripted-server/script.ts";
import { post, serveFixture, type ServeFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { type JobAttempt, jobFailure, jobRetryDelay } from "./job-retry.ts";
import { JobsLog } from "./jobs-log.ts";
import { JobsQueue, type JobView } from "./jobs-queue.ts";

const checkout = tempGitRepo("org-serve-job-retry-");
afterAll(() => checkout[Symbol.dispose]());
const BASE = "http://127.0.0.1:7001";
const SETTINGS = { retryMinDelayMs: 1_000, retryMaxDelayMs: 4_000, maxAttempts: 4 };

/** A wait that returns at once and remembers what it was asked to wait. */
function recordedSleep(): { waits: number[]; sleep: (ms: number) => Promise<void> } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

async function finished(fixture: ServeFixture, id: string): Promise<JobView> {
  let view: JobView | undefined;
  await waitUntil(
    `job ${id} to finish`,
    async () => {
      view = (await (await fixture.handler.fetch(new Request(`${BASE}/v1/jobs/${id}`))).json()) as JobView;
      return view.state === "done" || view.state === "failed";
    },
    30_000,
  );
  return view as JobView;
}

async function runJob(script: ScriptInput, text: string, settings: Partial<typeof SETTINGS> = {}) {
  const { waits, sleep } = recordedSleep();
  await using fixture = await serveFixture({
    script,
    checkoutDir: checkout.dir,
    serve: { jobs: { ...SETTINGS, ...settings } },
    handlerOptions: { jobs: { random: () => 0.5, sleep } },
  });
  const accepted = (await (await fixture.handler.fetch(post(`${BASE}/v1/jobs`, { text, mode: "direct:agent" }))).json()) as { id: string };
  const view = await finished(fixture, accepted.id);
  const wal = readFileSync(join(fixture.workspaceDir, ".org", "serve", "jobs.wal"), "utf8");
  return { view, waits, wal, requests: fixture.server.requests.filter((request) => request.path === "/v1/chat/completions").length };
}

// Each model call is one POST plus the client's own two quick retries (`llm/open-stream.ts`); `retryAfterS: 0` makes
// those immediate. So `times: 6` fails two runs of the job.
const FLAKY = {
  rules: [
    { when: { lastMessage: "^flaky", times: 6 }, reply: { fault: { status: 429, retryAfterS: 0 } } },
    { when: { lastMessage: "^refused" }, reply: { fault: { status: 401, message: "invalid api key" } } },
    { when: { lastMessage: "^always busy" }, reply: { fault: { status: 503, retryAfterS: 0 } } },
    { when: { lastMessage: "^behind a proxy", times: 3 }, reply: { fault: { status: 502, retryAfterS: 0 } } },
    { when: { lastMessage: "^behind a proxy", times: 3 }, reply: { fault: { status: 504, retryAfterS: 0 } } },
    { when: { lastMessage: "^model broken" }, reply: { fault: { status: 500, message: "model requires more system memory" } } },
    { reply: { text: "answer for {{lastMessage}}" } },
  ],
};

describe("serve jobs retry a transient failure", () => {
  test("a job that fails twice for a transient reason, then succeeds, is done with three attempts recorded", async () => {
    const { view, waits, wal } = await runJob(FLAKY, "flaky question");
    expect(view.state).toBe("done");
    expect(view.attempts.map(({ attempt, ok, kind, retryable }) => ({ attempt, ok, kind, retryable }))).toEqual([
      { attempt: 1, ok: false, kind: "http", retryable: true },
      { attempt: 2, ok: false, kind: "http", retryable: true },
      { attempt: 3, ok: true, kind: undefined, retryable: undefined },
    ]);
    // Full jitter at 0.5: half of 1 s, then half of 2 s; the delays the record says are the ones waited.
    expect(view.attempts.map((attempt) => attempt.delayMs)).toEqual([500, 1_000, undefined]);
    expect(waits).toEqual([500, 1_000]);
    for (const attempt of view.attempts.slice(0, 2)) {
      expect(attempt.message).toContain("HTTP 429");
      expect(attempt.retryAt).toBe(attempt.finishedAt + (attempt.delayMs ?? Number.NaN));
    }
    // The events of every run, the last one's answer among them.
    const text = view.events.flatMap((event: RoomEvent) => (event.type === "text-delta" ? [event.text] : [])).join("");
    expect(text).toBe("answer for flaky question");
    expect(wal.match(/"op":"attempt"/g)?.length).toBe(2);
  });

  test("a permanent failure (an invalid key) runs once", async () => {
    const { view, waits, requests } = await runJob(FLAKY, "refused question");
    expect(view.state).toBe("failed");
    expect(view.attempts).toHaveLength(1);
    expect(view.attempts[0]).toMatchObject({ attempt: 1, ok: false, kind: "http", retryable: false });
    expect(view.attempts[0]?.delayMs).toBeUndefined();
    expect(waits).toEqual([]);
    expect(requests).toBe(1);
  });

  test("a proxy's 502 and 504 are transient: the job runs again and is done; a server's own 500 is not retried", async () => {
    const { view, requests } = await runJob(FLAKY, "behind a proxy");
    expect(view.state).toBe("done");
    expect(view.attempts.map(({ ok, retryable }) => ({ ok, retryable }))).toEqual([
      { ok: false, retryable: true },
      { ok: false, retryable: true },
      { ok: true, retryable: undefined },
    ]);
    expect(view.attempts.map((attempt) => attempt.message?.match(/HTTP \d+/)?.[0])).toEqual(["HTTP 502", "HTTP 504", undefined]);
    expect(view.attempts[0]?.message).toContain("A proxy in front of the model server");
    expect(requests).toBe(7);
    const broken = await runJob(FLAKY, "model broken");
    expect(broken.view.state).toBe("failed");
    expect(broken.view.attempts).toHaveLength(1);
    expect(broken.view.attempts[0]).toMatchObject({ ok: false, kind: "http", retryable: false });
    expect(broken.view.attempts[0]?.message).toContain("HTTP 500");
    expect(broken.requests).toBe(1);
  });

  test("the cap is honoured: a server always busy gets maxAttempts runs, then the job fails", async () => {
    const { view, waits } = await runJob(FLAKY, "always busy", { maxAttempts: 3, retryMaxDelayMs: 1_500 });
    expect(view.state).toBe("failed");
    expect(view.attempts.map((attempt) => attempt.attempt)).toEqual([1, 2, 3]);
    expect(view.attempts.every((attempt) => attempt.retryable === true && attempt.kind === "http")).toBe(true);
    // The second delay's ceiling is held at the largest delay (1.5 s, not 2 s); the last run waits for nothing.
    expect(waits).toEqual([500, 750]);
    expect(view.attempts[2]?.delayMs).toBeUndefined();
  });
});

describe("a retry pending when serve stops", () => {
  const dir = mkdtempSync(join(tmpdir(), "org-job-retry-crash-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const busy: RoomEvent = { type: "error", persona: "agent", message: "model server answered HTTP 503: busy", kind: "http", retryable: true };

  test("is resumed after a restart when it is due, once, with its count going on", async () => {
    let clock = 10_000;
    const first = new JobsQueue({
      log: new JobsLog(dir, false),
      workers: 1,
      dedupTtlS: 60,
      retry: SETTINGS,
      random: () => 1,
      now: () => clock,
      logError: () => {},
      // The retry's wait never ends on its own: the server is stopped while it waits.
      sleep: (_ms, signal) => new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true })),
      run: async (_job, onEvent) => {
        onEvent(busy);
        return { ok: false };
      },
    });
    first.start();
    const { id } = first.post({ text: "nightly report" });
    await waitUntil("the first run to be retried", () => (first.get(id)?.attempts.length ?? 0) === 1);
    expect(first.get(id)).toMatchObject({ state: "queued", retryAt: 11_000 });
    await first.close();

    clock = 10_400;
    const runs: string[] = [];
    const { waits, sleep } = recordedSleep();
    const second = new JobsQueue({
      log: new JobsLog(dir, false),
      workers: 2,
      dedupTtlS: 60,
      retry: SETTINGS,
      now: () => clock,
      logError: () => {},
      sleep,
      run: async (job, onEvent) => {
        runs.push(job.id);
        onEvent({ type: "cleared" });
        return { ok: true };
      },
    });
    second.start();
    await waitUntil("the resumed job to finish", () => second.get(id)?.state === "done");
    // It waited what was left of its delay, and ran once, as attempt 2.
    expect(waits).toEqual([600]);
    expect(runs).toEqual([id]);
    const attempts = second.get(id)?.attempts as JobAttempt[];
    expect(attempts.map((attempt) => [attempt.attempt, attempt.ok])).toEqual([
      [1, false],
      [2, true],
    ]);
    await second.close();
  });
});

describe("the retry decisions", () => {
  test("the delay lies within full jitter's bounds, the ceiling doubling to the cap, never under a Retry-After", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
        (attempt, random, minDelayMs, retryAfterMs) => {
          const settings = { retryMinDelayMs: minDelayMs, retryMaxDelayMs: 30_000, maxAttempts: 5 };
          const delay = jobRetryDelay(attempt, settings, () => random, retryAfterMs);
          const ceiling = Math.min(30_000, minDelayMs * 2 ** (attempt - 1));
          expect(delay).toBeGreaterThanOrEqual(Math.min(retryAfterMs ?? 0, 30_000));
          expect(delay).toBeLessThanOrEqual(Math.max(ceiling, Math.min(retryAfterMs ?? 0, 30_000)));
        },
      ),
      { numRuns: 200 },
    );
  });

  test("a run is transient only when each of its errors was", () => {
    const transient: RoomEvent = { type: "error", message: "busy", kind: "http", retryable: true, retryAfterMs: 2_000 };
    expect(jobFailure([transient])).toEqual({ kind: "http", message: "busy", retryable: true, retryAfterMs: 2_000 });
    expect(jobFailure([transient, { type: "error", message: "no such mode", kind: "mode" }]).retryable).toBe(false);
    expect(jobFailure([]).retryable).toBe(false);
    // A run whose tools already ran is not sent again: a retry would run them twice.
    const call = { id: "c1", name: "sh", arguments: { cmd: "touch ran" } };
    const ran: RoomEvent = { type: "tool-call", replyId: "r1", persona: "agent", call };
    expect(jobFailure([ran, transient]).retryable).toBe(false);
    expect(jobFailure([{ type: "change-applied", changeId: "x1", replyId: "r1", persona: "agent" }, transient]).retryable).toBe(false);
  });
});
