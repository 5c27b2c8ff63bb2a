import { afterAll, expect, test } from "bun:test";
import { DEFAULT_SERVE } from "../config/serve-settings.ts";
import { serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { waitUntil } from "../testing/wait-until.ts";

// Issue 74, item 5b: 400 event streams of one session were all accepted. They are bounded per session
// (serve.streamsPerSession, 8 by default): the next is a 429 naming the bound, and a stream that closes frees its place.
const checkout = tempGitRepo("org-stream-limit-");
afterAll(() => checkout[Symbol.dispose]());
const TOKEN = "stream-limit-token";
const AUTH = { authorization: `Bearer ${TOKEN}` };

test("a session's event streams are bounded: many at once, exactly the bound is let in; one closed, the next is let in", async () => {
  await using fixture = await serveFixture({ script: { rules: [] }, checkoutDir: checkout.dir, apiToken: TOKEN });
  const fetchOf = (path: string, init: RequestInit = {}) =>
    fixture.handler.fetch(new Request(`http://127.0.0.1/v1${path}`, { ...init, headers: { ...AUTH, host: "127.0.0.1", ...init.headers } }));
  const created = await fetchOf("/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  const { session } = (await created.json()) as { session: string };
  const other = (await (await fetchOf("/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })).json()) as {
    session: string;
  };
  const bound = DEFAULT_SERVE.streamsPerSession;
  expect(bound).toBe(8);
  const open = () => fetchOf(`/sessions/${session}/events`, { headers: { accept: "text/event-stream" } });

  // Asked for all at once: the check and the count are one step, so no more than the bound get through.
  const answers = await Promise.all(Array.from({ length: bound * 5 }, open));
  const accepted = answers.filter((answer) => answer.status === 200);
  const refused = answers.filter((answer) => answer.status === 429);
  expect(accepted).toHaveLength(bound);
  expect(refused).toHaveLength(bound * 4);
  const refusal = (await refused[0]?.json()) as { error: { message: string } };
  expect(refusal.error.message).toContain(`has ${bound} event streams open already`);
  expect(refusal.error.message).toContain("serve.streamsPerSession");
  expect(refused[0]?.headers.get("retry-after")).toBe("5");
  for (const answer of refused.slice(1)) await answer.body?.cancel();
  expect(fixture.handler.sessions.watchers(session)).toBe(bound);
  // Another session has places of its own.
  const elsewhere = await fetchOf(`/sessions/${other.session}/events`, { headers: { accept: "text/event-stream" } });
  expect(elsewhere.status).toBe(200);
  await elsewhere.body?.cancel();

  // One closes: its place is free, and the next is let in (and the one after it is not).
  await accepted[0]?.body?.cancel();
  await waitUntil("the closed stream's place freed", () => fixture.handler.sessions.watchers(session) === bound - 1);
  const next = await open();
  expect(next.status).toBe(200);
  expect((await open()).status).toBe(429);
  for (const answer of [...accepted.slice(1), next]) await answer.body?.cancel();
  await waitUntil("every stream closed", () => fixture.handler.sessions.watchers(session) === 0);
  // A short read of the transcript (not a stream) never counts against the bound.
  expect((await fetchOf(`/sessions/${session}`)).status).toBe(200);
});

test("serve.streamsPerSession sets the bound", async () => {
  await using fixture = await serveFixture({ script: { rules: [] }, checkoutDir: checkout.dir, apiToken: TOKEN, serve: { streamsPerSession: 2 } });
  const fetchOf = (path: string, init: RequestInit = {}) =>
    fixture.handler.fetch(new Request(`http://127.0.0.1/v1${path}`, { ...init, headers: { ...AUTH, host: "127.0.0.1", ...init.headers } }));
  const { session } = (await (
    await fetchOf("/sessions", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" })
  ).json()) as {
    session: string;
  };
  const answers = await Promise.all(Array.from({ length: 4 }, () => fetchOf(`/sessions/${session}/events`)));
  expect(answers.map((answer) => answer.status).sort()).toEqual([200, 200, 429, 429]);
  expect(((await answers.find((answer) => answer.status === 429)?.json()) as { error: { message: string } }).error.message).toContain("has 2 event");
  for (const answer of answers) await answer.body?.cancel().catch(() => {});
});
