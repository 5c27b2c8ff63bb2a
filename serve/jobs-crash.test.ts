import { afterAll, beforeAll, expect, test } from "bun:test";
import { orgCommand } from "../config/org-bun-command.ts";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ScriptedServer, startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { post } from "../testing/serve-fixture.ts";
import { waitUntil } from "../testing/wait-until.ts";

const ROUNDS = 4;
let workspace = "";
let model: ScriptedServer;

beforeAll(async () => {
  workspace = mkdtempSync(join(tmpdir(), "org-serve-crash-"));
  chmodSync(workspace, 0o755);
  // Replies long enough that a kill often lands while jobs run, and sometimes between them.
  model = await startScriptedServer({
    script: { rules: [{ reply: { text: "done with {{lastMessage}}. ".repeat(6), chunkSize: 6, delayMs: 15 } }] },
    port: 0,
  });
});
afterAll(async () => {
  await model.stop();
  rmSync(workspace, { recursive: true, force: true });
});

/**
 * `org serve` on the workspace; odd rounds fsync the log and results (ORG_FSYNC=on, as ORG_PROFILE=prod does).
 * The log is compacted after nearly every finished job, so kills land in compactions too.
 */
async function startServe(fsync = false): Promise<{ process: ReturnType<typeof Bun.spawn>; url: string }> {
  const env = {
    ...process.env,
    OLLAMA_BASE: model.url,
    OLLAMA_MODEL: "qwen3:8b",
    NO_COLOR: "1",
    ORG_PROFILE: "dev",
    ORG_FSYNC: fsync ? "on" : "off",
    ORG_SERVE_JOB_LOG_COMPACT_BYTES: "1",
  };
  delete (env as Record<string, string | undefined>).ORG_API_TOKEN;
  delete (env as Record<string, string | undefined>).ORG_API_HMAC_SECRET;
  const child = Bun.spawn(orgCommand(["serve", "--port", "0", "--workers", "2", "--workspace", workspace]), { env, stdout: "pipe", stderr: "pipe" });
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  const deadline = Date.now() + 60_000;
  while (!/listening on (http:\/\/\S+)/.test(text)) {
    if (Date.now() > deadline) throw new Error(`org serve did not start: ${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`org serve exited before listening: ${text}${await new Response(child.stderr as ReadableStream).text()}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { process: child, url: /listening on (http:\/\/\S+)/.exec(text)?.[1] as string };
}

function resultsDir(): string {
  return join(workspace, ".org", "serve", "results");
}

function results(): Map<string, string> {
  const found = new Map<string, string>();
  if (!existsSync(resultsDir())) return found;
  for (const name of readdirSync(resultsDir()))
    if (name.endsWith(".json") && !name.startsWith(".")) found.set(name.slice(0, -5), readFileSync(join(resultsDir(), name), "utf8"));
  return found;
}

/** The jobs log's records, a line cut by a kill left out. */
function walRecords(): { op: string; id: string }[] {
  return readFileSync(join(workspace, ".org", "serve", "jobs.wal"), "utf8")
    .split("\n")
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as { op: string; id: string }];
      } catch {
        return [];
      }
    });
}

test("kill -9 at random points: every accepted job ends with one result, none completes twice", async () => {
  const accepted = new Map<string, string>(); // id → text
  const seenResults = new Map<string, string>(); // id → the result first seen
  let counter = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const serve = await startServe(round % 2 === 1);
    // Jobs posted while the server may die under them: only a 202 is a promise.
    const posts = Array.from({ length: 3 }, async (_, index) => {
      await Bun.sleep(index * 40);
      const text = `job ${counter++} of round ${round}`;
      try {
        const response = await fetch(post(`${serve.url}/v1/jobs`, { text, mode: "direct:agent" }));
        if (response.status === 202) accepted.set(((await response.json()) as { id: string }).id, text);
      } catch {
        // killed before it answered: not accepted, no promise made
      }
    });
    // From before the first job lands to after several finished (earlier rounds' leftovers run first).
    await Bun.sleep(Math.floor(Math.random() * 2_500));
    for (const [id, content] of results()) if (!seenResults.has(id)) seenResults.set(id, content);
    serve.process.kill("SIGKILL");
    await serve.process.exited;
    await Promise.all(posts);
    for (const [id, content] of results()) if (!seenResults.has(id)) seenResults.set(id, content);
  }
  expect(accepted.size).toBeGreaterThan(0);

  const serve = await startServe();
  try {
    // A job logged just before a kill, its 202 never sent, is run too: wait for those as well as the promised ones.
    await waitUntil(
      "every accepted job to have a result",
      () =>
        [
          ...accepted.keys(),
          ...walRecords()
            .filter((record) => record.op === "accept")
            .map((record) => record.id),
        ].every((id) => results().has(id)),
      120_000,
    );
    const final = results();
    for (const [id, text] of accepted) {
      const result = JSON.parse(final.get(id) as string) as { state: string; events: { type: string; text?: string; message?: { text: string } }[] };
      expect(result.state).toBe("done");
      expect(result.events.find((event) => event.type === "message")?.message?.text).toBe(text);
      expect(result.events.at(-1)?.type).toBe("turn-end");
      const view = (await (await fetch(`${serve.url}/v1/jobs/${id}`)).json()) as { state: string; events: unknown[] };
      expect(view.state).toBe("done");
      expect(view.events).toEqual(result.events as unknown[]);
    }
    // A result once written is never replaced by a second completion.
    for (const [id, content] of seenResults) expect(final.get(id)).toBe(content);
    // Each job was logged once; the log, compacted while jobs ran, holds no job still to run (all are done).
    const records = walRecords();
    const accepts = records.filter((record) => record.op === "accept").map((record) => record.id);
    expect(new Set(accepts).size).toBe(accepts.length);
    for (const id of accepts) expect(final.has(id) || records.some((record) => record.op === "done" && record.id === id)).toBe(true);
    expect(readdirSync(resultsDir()).filter((name) => name.endsWith(".tmp"))).toEqual([]);
  } finally {
    serve.process.kill("SIGTERM");
    await serve.process.exited;
  }
}, 300_000);
