import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { startOrgServe } from "../testing/org-serve-process.ts";
import { post } from "../testing/serve-fixture.ts";
import { waitUntil } from "../testing/wait-until.ts";

// Serve's jobs stay bounded, checked on a real `org serve` configured through its environment variables.
let model: ScriptedServer;
const workspaces: string[] = [];

function workspace(): string {
  const dir = mkdtempSync(join(tmpdir(), "org-serve-jobs-bounds-"));
  chmodSync(dir, 0o755);
  workspaces.push(dir);
  return dir;
}

beforeAll(async () => {
  model = await startScriptedServer({
    script: {
      rules: [
        // Long enough that the job is still running when the next posts arrive, however loaded the machine.
        { when: { lastMessage: "^hold" }, reply: { text: "held ".repeat(400), chunkSize: 1, delayMs: 50 } },
        { reply: { text: "answer for {{lastMessage}}" } },
      ],
    },
    port: 0,
  });
});
afterAll(async () => {
  await model.stop();
  for (const dir of workspaces) rmSync(dir, { recursive: true, force: true });
});

async function postJob(url: string, body: object): Promise<Response> {
  return fetch(post(`${url}/v1/jobs`, body));
}

async function finished(url: string, id: string): Promise<{ state: string }> {
  let view: { state: string } = { state: "" };
  await waitUntil(
    `job ${id} to finish`,
    async () => {
      view = (await (await fetch(`${url}/v1/jobs/${id}`)).json()) as { state: string };
      return view.state === "done" || view.state === "failed";
    },
    60_000,
  );
  return view;
}

function walOf(dir: string): { text: string; bytes: number; accepted: string[] } {
  const text = readFileSync(join(dir, ".org", "serve", "jobs.wal"), "utf8");
  const accepted = text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { op: string; id: string })
    .filter((record) => record.op === "accept")
    .map((record) => record.id);
  return { text, bytes: Buffer.byteLength(text), accepted };
}

describe("serve's jobs stay bounded", () => {
  test("ORG_SERVE_JOB_TTL_S: a finished job and its result expire (GET is 404), and it does not run again after a restart", async () => {
    const dir = workspace();
    const serve = await startOrgServe({ workspace: dir, modelUrl: model.url, env: { ORG_SERVE_JOB_TTL_S: "1" } });
    let id = "";
    try {
      const accepted = await postJob(serve.url, { text: "short lived", mode: "direct:agent" });
      expect(accepted.status).toBe(202);
      id = ((await accepted.json()) as { id: string }).id;
      expect((await finished(serve.url, id)).state).toBe("done");
      const result = join(dir, ".org", "serve", "results", `${id}.json`);
      await waitUntil("the result to expire", async () => (await fetch(`${serve.url}/v1/jobs/${id}`)).status === 404 && !existsSync(result), 30_000);
    } finally {
      await serve.stop("SIGKILL");
    }
    const again = await startOrgServe({ workspace: dir, modelUrl: model.url, env: { ORG_SERVE_JOB_TTL_S: "1" } });
    try {
      // A job to run again would be queued before serve listens: its done line says it finished.
      expect((await fetch(`${again.url}/v1/jobs/${id}`)).status).toBe(404);
      expect(walOf(dir).text).toContain(`{"op":"done","id":"${id}"}`);
      expect(readdirSync(join(dir, ".org", "serve", "results"))).toEqual([]);
    } finally {
      await again.stop();
    }
  }, 180_000);

  test("ORG_SERVE_JOB_QUEUE_MAX: past that many waiting jobs a POST is 429 with Retry-After, and the refused job is not logged", async () => {
    const dir = workspace();
    const serve = await startOrgServe({ workspace: dir, modelUrl: model.url, env: { ORG_SERVE_JOB_QUEUE_MAX: "2" }, args: ["--workers", "1"] });
    try {
      const held = (await (await postJob(serve.url, { text: "hold the worker", mode: "direct:agent" })).json()) as { id: string };
      await waitUntil(
        "the worker to take the first job",
        async () => ((await (await fetch(`${serve.url}/v1/jobs/${held.id}`)).json()) as { state: string }).state === "running",
        30_000,
      );
      const waiting = [
        await postJob(serve.url, { text: "one", mode: "direct:agent" }),
        await postJob(serve.url, { text: "two", mode: "direct:agent" }),
      ];
      expect(waiting.map((response) => response.status)).toEqual([202, 202]);
      const refused = await postJob(serve.url, { text: "three", mode: "direct:agent" });
      expect(refused.status).toBe(429);
      expect(refused.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
      const body = (await refused.json()) as { error: { message: string } };
      expect(body.error.message).toContain("ORG_SERVE_JOB_QUEUE_MAX=2");
      // Nothing of the refused job was logged.
      expect(walOf(dir).text).not.toContain('"three"');
    } finally {
      await serve.stop("SIGKILL");
    }
  }, 120_000);

  test("the log is compacted while serve runs: after many jobs it holds only what it still needs", async () => {
    const dir = workspace();
    const serve = await startOrgServe({ workspace: dir, modelUrl: model.url, env: { ORG_SERVE_JOB_LOG_COMPACT_BYTES: "8192" } });
    try {
      const ids: string[] = [];
      const sizes: number[] = [];
      const filler = "x".repeat(2_000);
      // Three rounds of five: each posts about 10 KiB, more than the threshold, and waits for its jobs, so the log
      // must shrink between rounds (at least twice) whatever the timing within one.
      for (let index = 0; index < 15; index++) {
        const response = await postJob(serve.url, { text: `job ${index} ${filler}`, mode: "direct:agent" });
        expect(response.status).toBe(202);
        ids.push(((await response.json()) as { id: string }).id);
        sizes.push(walOf(dir).bytes);
        if (index % 5 === 4) for (const id of ids.slice(-5)) expect((await finished(serve.url, id)).state).toBe("done");
      }
      const posted = 15 * filler.length;
      // It shrank while serve ran, more than once, and never held most of what was posted.
      expect(sizes.filter((size, index) => index > 0 && size < (sizes[index - 1] as number)).length).toBeGreaterThan(1);
      expect(Math.max(...sizes)).toBeLessThan(posted * 0.75);
      // All finished: what is left is under the threshold (a compaction follows each finished job past it).
      const wal = walOf(dir);
      expect(wal.bytes).toBeLessThanOrEqual(8192);
      expect(wal.accepted.length).toBeLessThanOrEqual(4);
      for (const id of [ids[0], ids[14]] as string[])
        expect(((await (await fetch(`${serve.url}/v1/jobs/${id}`)).json()) as { state: string }).state).toBe("done");
      expect(statSync(join(dir, ".org", "serve", "jobs.wal")).mode & 0o777).toBe(0o600);
    } finally {
      await serve.stop();
    }
  }, 180_000);
});
