import { afterAll, describe, expect, test } from "bun:test";
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RoomEvent, roomEventSchemas } from "../room/room-event.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import { post, serveFixture, type ServeFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { waitUntil } from "../testing/wait-until.ts";
import { userOrgDir } from "../config/user-org-dir.ts";
import { finishedJobs } from "./finished-jobs.ts";
import { JobsLog } from "./jobs-log.ts";
import { signatureHeaders } from "./request-signature.ts";
import { startServe } from "./start-serve.ts";

const checkout = tempGitRepo("org-serve-jobs-");
afterAll(() => checkout[Symbol.dispose]());
const BASE = "http://127.0.0.1:7001";

/**
 * `serveFixture` with no sandbox started ahead of need: no job here runs a tool, and each job's session would
 * otherwise start one (bwrap and its set-up) that it never uses.
 */
const jobsFixture = (options: Parameters<typeof serveFixture>[0]) =>
  serveFixture({ ...options, handlerOptions: { sandboxPolicy: sandboxPolicy({ poolSize: 0 }), ...options.handlerOptions } });
const ECHO = {
  rules: [
    { when: { lastMessage: "^slow" }, reply: { text: "slow answer ".repeat(20), chunkSize: 4, delayMs: 20 } },
    { reply: { text: "answer for {{lastMessage}}" } },
  ],
};

type JobView = { id: string; state: string; events: RoomEvent[]; session?: string };

async function postJob(fixture: ServeFixture, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fixture.handler.fetch(post(`${BASE}/v1/jobs`, body, headers));
}

async function job(fixture: ServeFixture, id: string, headers: Record<string, string> = {}): Promise<JobView> {
  const response = await fixture.handler.fetch(new Request(`${BASE}/v1/jobs/${id}`, { headers }));
  expect(response.status).toBe(200);
  return (await response.json()) as JobView;
}

async function finished(fixture: ServeFixture, id: string, timeoutMs = 30_000): Promise<JobView> {
  let view: JobView | undefined;
  await waitUntil(
    `job ${id} to finish`,
    async () => {
      view = await job(fixture, id);
      return view.state === "done" || view.state === "failed";
    },
    timeoutMs,
  );
  return view as JobView;
}

function replyText(events: RoomEvent[]): string {
  return events.flatMap((event) => (event.type === "text-delta" ? [event.text] : [])).join("");
}

/** `id:` and `data:` of each SSE frame. */
function sseFrames(text: string): { id: number; event: RoomEvent }[] {
  return text
    .split("\n\n")
    .filter((frame) => frame.startsWith("id: "))
    .map((frame) => {
      const [idLine, dataLine] = frame.split("\n");
      return { id: Number(idLine?.slice(4)), event: JSON.parse(dataLine?.slice(6) ?? "") as RoomEvent };
    });
}

describe("POST /v1/jobs", () => {
  test("answers 202 at once with the job logged first; the job runs; its events have chat --json's shapes", async () => {
    await using fixture = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir });
    const response = await postJob(fixture, { text: "hello jobs", mode: "direct:agent" });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { id: string; state: string };
    expect(accepted.id).toMatch(/^job-/);
    expect(["queued", "running"]).toContain(accepted.state);
    // In the write-ahead log before the answer, private to the user.
    const dir = join(fixture.workspaceDir, ".org", "serve");
    expect(readFileSync(join(dir, "jobs.wal"), "utf8")).toContain(`"id":"${accepted.id}"`);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, "jobs.wal")).mode & 0o777).toBe(0o600);
    const view = await finished(fixture, accepted.id);
    expect(view.state).toBe("done");
    expect(view.session).toBeString();
    for (const event of view.events) expect(roomEventSchemas().RoomEvent.safeParse(event).success).toBe(true);
    expect(view.events.at(-1)).toMatchObject({ type: "turn-end", ok: true });
    expect(replyText(view.events)).toBe("answer for hello jobs");
    expect(JSON.parse(readFileSync(join(dir, "results", `${accepted.id}.json`), "utf8"))).toMatchObject({ id: accepted.id, state: "done" });
  });

  test("a key pasted into a job is redacted before the log stores it or the room sees it", async () => {
    await using fixture = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir });
    const key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789";
    const response = await postJob(fixture, { text: `use ${key} please`, mode: "direct:agent" });
    const accepted = (await response.json()) as { id: string; redacted?: boolean };
    expect(accepted.redacted).toBe(true);
    const view = await finished(fixture, accepted.id);
    expect(readFileSync(join(fixture.workspaceDir, ".org", "serve", "jobs.wal"), "utf8")).not.toContain(key);
    expect(JSON.stringify(view)).not.toContain(key);
    expect(replyText(view.events)).toBe("answer for use [REDACTED] please");
  });

  test("a mode the room does not have fails the job, saying why", async () => {
    await using fixture = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir });
    const { id } = (await (await postJob(fixture, { text: "hi", mode: "direct:nobody" })).json()) as { id: string };
    const view = await finished(fixture, id);
    expect(view.state).toBe("failed");
    expect(view.events.at(-1)).toMatchObject({ type: "error", kind: "mode" });
  });

  test("one worker runs jobs in order of arrival", async () => {
    await using fixture = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir, handlerOptions: { jobs: { workers: 1 } } });
    const ids: string[] = [];
    for (const text of ["slow one", "two", "three"])
      ids.push(((await (await postJob(fixture, { text, mode: "direct:agent" })).json()) as { id: string }).id);
    expect((await job(fixture, ids[2] as string)).state).toBe("queued");
    const results = [];
    for (const id of ids)
      results.push(
        JSON.parse(readFileSync(join(fixture.workspaceDir, ".org", "serve", "results", `${(await finished(fixture, id)).id}.json`), "utf8")) as {
          finishedAt: number;
          events: RoomEvent[];
        },
      );
    const starts = results.map((result) => (result.events.find((event) => event.type === "message") as { message: { time: string } }).message.time);
    expect([...starts].sort()).toEqual(starts);
    expect(results.map((result) => result.finishedAt)).toEqual([...results.map((result) => result.finishedAt)].sort((a, b) => a - b));
  });

  test("request_id: the same id gives the same job, never a second run; another text under it is 409; after the TTL it is new", async () => {
    // The queue's own clock, moved by the test: a busy machine's pause between two posts must not expire the id.
    let clock = Date.now();
    const now = () => clock;
    await using fixture = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir, handlerOptions: { jobs: { dedupTtlS: 1, now } } });
    const first = await postJob(fixture, { text: "once", request_id: "req-1" });
    expect(first.status).toBe(202);
    const { id } = (await first.json()) as { id: string };
    const again = await Promise.all([1, 2, 3].map(() => postJob(fixture, { text: "once", request_id: "req-1" })));
    for (const response of again) {
      expect(response.status).toBe(200);
      expect(((await response.json()) as { id: string }).id).toBe(id);
    }
    const other = await postJob(fixture, { text: "something else", request_id: "req-1" });
    expect(other.status).toBe(409);
    // Whoever reuses a request_id learns nothing of the job it made.
    const conflict = await other.text();
    expect(conflict).not.toContain(id);
    expect(conflict).not.toMatch(/job-[a-z0-9]/);
    expect(conflict).toContain("request_id req-1 was already used");
    await finished(fixture, id);
    const accepts = readFileSync(join(fixture.workspaceDir, ".org", "serve", "jobs.wal"), "utf8")
      .trim()
      .split("\n")
      .filter((line) => (JSON.parse(line) as { op: string }).op === "accept");
    expect(accepts).toHaveLength(1);
    clock += 999;
    expect((await postJob(fixture, { text: "once", request_id: "req-1" })).status).toBe(200);
    clock += 2;
    const later = await postJob(fixture, { text: "once", request_id: "req-1" });
    expect(later.status).toBe(202);
    expect(((await later.json()) as { id: string }).id).not.toBe(id);
  });

  test(".org/serve as a link is refused, naming it; a loose mode is tightened", async () => {
    const workspaceDir = mkdtempSync(join(tmpdir(), "org-serve-jobs-link-"));
    const elsewhere = mkdtempSync(join(tmpdir(), "org-serve-jobs-elsewhere-"));
    try {
      mkdirSync(join(workspaceDir, ".org"), { recursive: true });
      symlinkSync(elsewhere, join(workspaceDir, ".org", "serve"));
      await expect(jobsFixture({ script: ECHO, checkoutDir: checkout.dir, workspaceDir })).rejects.toThrow(/is not a directory \(a link\?\)/);
      expect(readdirSync(elsewhere)).toEqual([]);
      rmSync(join(workspaceDir, ".org", "serve"));
      mkdirSync(join(workspaceDir, ".org", "serve"), { mode: 0o755 });
      chmodSync(join(workspaceDir, ".org", "serve"), 0o755);
      await using fixture = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir, workspaceDir });
      expect(statSync(join(fixture.workspaceDir, ".org", "serve")).mode & 0o777).toBe(0o700);
    } finally {
      rmSync(workspaceDir, { recursive: true, force: true });
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test("unknown jobs are 404; bodies are checked", async () => {
    await using fixture = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir });
    expect((await fixture.handler.fetch(new Request(`${BASE}/v1/jobs/job-nothere123`))).status).toBe(404);
    expect((await fixture.handler.fetch(new Request(`${BASE}/v1/jobs/..%2F..%2Fetc/events`))).status).toBe(404);
    expect((await postJob(fixture, { text: "" })).status).toBe(400);
    expect((await postJob(fixture, { text: "x", session: "abc" })).status).toBe(400);
    expect((await fixture.handler.fetch(new Request(`${BASE}/v1/jobs`))).status).toBe(405);
  });
});

describe("GET /v1/jobs/:id/events", () => {
  test("streams the job's events with ids, live from the queue to the end; Last-Event-ID resumes", async () => {
    await using fixture = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir });
    const server = startServe({ handler: fixture.handler, host: "127.0.0.1", port: 0 });
    try {
      const { id } = (await (await fetch(post(`${server.url}/v1/jobs`, { text: "slow stream", mode: "direct:agent" }))).json()) as { id: string };
      const live = sseFrames(await (await fetch(`${server.url}/v1/jobs/${id}/events`)).text());
      expect(live.map((frame) => frame.id)).toEqual(live.map((_, index) => index));
      expect(live.at(-1)?.event).toMatchObject({ type: "turn-end", ok: true });
      const view = await job(fixture, id);
      expect(live.map((frame) => frame.event)).toEqual(view.events);
      const resumed = sseFrames(await (await fetch(`${server.url}/v1/jobs/${id}/events`, { headers: { "last-event-id": "2" } })).text());
      expect(resumed.map((frame) => frame.id)).toEqual(live.slice(3).map((frame) => frame.id));
      expect(resumed.map((frame) => frame.event)).toEqual(view.events.slice(3));
    } finally {
      await server.stop(true);
    }
  });
});

describe("jobs across a restart", () => {
  test("a job stopped mid-run runs again after the restart; a finished one keeps its result and does not run again", async () => {
    const workspaceDir = mkdtempSync(join(tmpdir(), "org-serve-jobs-restart-"));
    try {
      let doneId: string;
      let cutId: string;
      let doneSession: string | undefined;
      {
        await using first = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir, workspaceDir });
        doneId = ((await (await postJob(first, { text: "quick", mode: "direct:agent" })).json()) as { id: string }).id;
        doneSession = (await finished(first, doneId)).session;
        cutId = ((await (await postJob(first, { text: "slow cut", mode: "direct:agent" })).json()) as { id: string }).id;
        await waitUntil("the slow job to stream", async () => (await job(first, cutId)).events.some((event) => event.type === "text-delta"));
      }
      expect(readdirSync(join(workspaceDir, ".org", "serve", "results")).sort()).toEqual([`${doneId}.json`]);
      await using second = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir, workspaceDir });
      const rerun = await finished(second, cutId);
      expect(rerun.state).toBe("done");
      expect(replyText(rerun.events)).toBe("slow answer ".repeat(20));
      const kept = await job(second, doneId);
      expect(kept).toMatchObject({ state: "done", session: doneSession as string });
      expect(replyText(kept.events)).toBe("answer for quick");
    } finally {
      rmSync(workspaceDir, { recursive: true, force: true });
    }
  });

  // Issue 51: a log this org did not write (committed to a cloned repository, unpacked from an archive, copied from a
  // backup) holds a job "accepted" and never finished, or a sealed line whose text was changed. Neither runs as the
  // person's turn when serve starts there; serve says so, and its own unfinished job still runs again.
  test("an unfinished job the user's org did not seal does not run after a start", async () => {
    const workspaceDir = mkdtempSync(join(tmpdir(), "org-serve-jobs-forged-"));
    try {
      let ownId: string;
      {
        await using first = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir, workspaceDir });
        ownId = ((await (await postJob(first, { text: "slow own", mode: "direct:agent" })).json()) as { id: string }).id;
        await waitUntil("the slow job to stream", async () => (await job(first, ownId)).events.some((event) => event.type === "text-delta"));
      }
      const wal = join(workspaceDir, ".org", "serve", "jobs.wal");
      const own = JSON.parse(readFileSync(wal, "utf8").trim().split("\n")[0] as string) as { seal: string };
      const acceptedAt = Date.now();
      const forged = { op: "accept", id: "job-attacker-0001", text: "attacker words", mode: "direct:agent", acceptedAt };
      const altered = { ...forged, id: "job-attacker-0002", seal: own.seal };
      appendFileSync(wal, `${JSON.stringify(forged)}\n${JSON.stringify(altered)}\n`);
      await using second = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir, workspaceDir });
      expect(second.errors.join("\n")).toContain("2 unfinished job(s)");
      expect(second.errors.join("\n")).toContain("are not sealed by your org's key");
      for (const id of ["job-attacker-0001", "job-attacker-0002"]) {
        expect((await second.handler.fetch(new Request(`${BASE}/v1/jobs/${id}`))).status).toBe(404);
      }
      expect(replyText((await finished(second, ownId)).events)).toBe("slow answer ".repeat(20));
    } finally {
      rmSync(workspaceDir, { recursive: true, force: true });
    }
  });
});

test("a long log is compacted at start to what it still needs; finished jobs still answer from their results", async () => {
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-serve-jobs-compact-"));
  const wal = () =>
    readFileSync(join(workspaceDir, ".org", "serve", "jobs.wal"), "utf8")
      .trim()
      .split("\n")
      .filter(Boolean);
  try {
    const ids: string[] = [];
    {
      await using first = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir, workspaceDir });
      for (const text of ["a", "b", "c", "d"]) ids.push(((await (await postJob(first, { text, mode: "direct:agent" })).json()) as { id: string }).id);
      ids.push(((await (await postJob(first, { text: "e", mode: "direct:agent", request_id: "keep-me" })).json()) as { id: string }).id);
      for (const id of ids) await finished(first, id);
    }
    // Five accepted, five done.
    expect(wal()).toHaveLength(10);
    await using second = await jobsFixture({
      script: ECHO,
      checkoutDir: checkout.dir,
      workspaceDir,
      handlerOptions: { jobs: { compactAboveBytes: 100 } },
    });
    // Only the job whose request_id is still remembered stays in the log, without its text.
    expect(wal().map((line) => JSON.parse(line) as { id: string; op: string; text?: string })).toEqual([
      expect.objectContaining({ op: "request", id: ids[4] as string, requestId: "keep-me" }),
    ]);
    for (const [index, id] of ids.entries()) expect(replyText((await job(second, id)).events)).toBe(`answer for ${"abcde"[index]}`);
    const again = await postJob(second, { text: "e", mode: "direct:agent", request_id: "keep-me" });
    expect(again.status).toBe(200);
    expect((await again.json()) as { id: string; state: string }).toEqual({ id: ids[4] as string, state: "done" });
  } finally {
    rmSync(workspaceDir, { recursive: true, force: true });
  }
});

describe("request signing (ORG_API_HMAC_SECRET)", () => {
  const SECRET = "hmac-secret-for-tests-0123456789";
  test("a signed request passes; unsigned, tampered, stale and replayed ones are 401; the bearer token works beside it", async () => {
    await using fixture = await jobsFixture({
      script: ECHO,
      checkoutDir: checkout.dir,
      apiToken: "bearer-token-xyz",
      handlerOptions: { hmac: { secret: SECRET, ttlS: 60 } },
    });
    expect(fixture.handler.authRequired).toBe(true);
    const body = JSON.stringify({ text: "signed hello" });
    const signed = signatureHeaders(SECRET, "POST", "/v1/jobs", body);
    const ok = await postJob(fixture, body, signed);
    expect(ok.status).toBe(202);
    expect((await postJob(fixture, body, signed)).status).toBe(401); // replayed
    expect((await postJob(fixture, body)).status).toBe(401);
    expect(
      (await postJob(fixture, JSON.stringify({ text: "tampered" }), signatureHeaders(SECRET, "POST", "/v1/jobs", body, Date.now() + 1000))).status,
    ).toBe(401);
    expect((await postJob(fixture, body, signatureHeaders(SECRET, "POST", "/v1/jobs", body, Date.now() - 61_000))).status).toBe(401);
    expect((await postJob(fixture, body, signatureHeaders(SECRET, "POST", "/v1/jobs", body, Date.now() + 120_000))).status).toBe(401);
    expect((await postJob(fixture, body, signatureHeaders("another-secret-000000", "POST", "/v1/jobs", body, Date.now() + 2000))).status).toBe(401);
    expect((await postJob(fixture, body, signatureHeaders(SECRET, "POST", "/v1/messages", body, Date.now() + 3000))).status).toBe(401);
    const { id } = (await ok.json()) as { id: string };
    const get = await fixture.handler.fetch(new Request(`${BASE}/v1/jobs/${id}`, { headers: signatureHeaders(SECRET, "GET", `/v1/jobs/${id}`, "") }));
    expect(get.status).toBe(200);
    expect((await job(fixture, id, { authorization: "Bearer bearer-token-xyz" })).id).toBe(id);
    expect((await fixture.handler.fetch(new Request(`${BASE}/v1/tools`, { headers: { authorization: "Bearer wrong" } }))).status).toBe(401);
    // A signed body is read to check it, but never past serve.maxBodyBytes.
    const huge = JSON.stringify({ text: "x".repeat(200_000) });
    expect((await postJob(fixture, huge, signatureHeaders(SECRET, "POST", "/v1/jobs", huge))).status).toBe(413);
  });

  test("/health says which profile is on", async () => {
    await using fixture = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir, handlerOptions: { profile: "prod" } });
    expect(((await (await fixture.handler.fetch(new Request(`${BASE}/health`))).json()) as { profile: string }).profile).toBe("prod");
    await using dev = await jobsFixture({ script: ECHO, checkoutDir: checkout.dir });
    expect(((await (await dev.handler.fetch(new Request(`${BASE}/health`))).json()) as { profile: string }).profile).toBe("dev");
  });
});

describe("a job's result is sealed", () => {
  test("a log that seals writes each result with the user's seal: read back as sealed under that key only, and for its own id", () => {
    const workspace = mkdtempSync(join(tmpdir(), "org-job-seal-"));
    try {
      const events: RoomEvent[] = [{ type: "turn-start", turnId: "t1", text: "we need a tool that counts vowels", mode: "group", addressed: [] }];
      new JobsLog(workspace, false, [], { home: userOrgDir() }).complete({ id: "job-aaaaaaaa", state: "done", events, finishedAt: 1 });
      // A log that does not seal (the supervisor's compaction runs no job): its results are nobody's words.
      new JobsLog(workspace, false).complete({ id: "job-bbbbbbbb", state: "done", events, finishedAt: 1 });
      const sealed = (home: string | undefined) =>
        finishedJobs(workspace, { since: 0, until: Number.MAX_SAFE_INTEGER }, { home }).map((job) => [job.id, job.result()?.sealed]);
      expect(sealed(userOrgDir())).toEqual([
        ["job-aaaaaaaa", true],
        ["job-bbbbbbbb", false],
      ]);
      expect(sealed(mkdtempSync(join(workspace, "other-home-")))).toEqual([
        ["job-aaaaaaaa", false],
        ["job-bbbbbbbb", false],
      ]);
    } finally {
      rmSync(workspace, { recursive: true, force: true });
    }
  });
});
