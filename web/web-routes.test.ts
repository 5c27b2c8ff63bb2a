import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RepoGit } from "../git/repo-git.ts";
import { type Route, routeListing } from "../serve/router.ts";
import { scriptedConfig } from "../testing/scripted-config.ts";
import { serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { pageAssets } from "./page-assets.ts";
import { ViewUpdates } from "./view-updates.ts";
import { type WebContext, viewRoutes, webRoutes } from "./web-routes.ts";

// The views' routes are declared to the router before their code is loaded (web-routes.ts): what each group declares
// must be what its module serves, or a view answers 500 the first time it is opened.
const checkout = tempGitRepo("org-web-routes-checkout-");
const workspaces: string[] = [];
afterAll(() => {
  checkout[Symbol.dispose]();
  for (const workspace of workspaces) rmSync(workspace, { recursive: true, force: true });
});

/** The web room's routes on a serve handler over `checkout`, as org serve mounts them; the context they were given. */
async function webServe(serve: { streamsPerSession?: number } = {}) {
  let context: WebContext | undefined;
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-web-routes-ws-"));
  workspaces.push(workspaceDir);
  const config = scriptedConfig(join(workspaceDir, "org.config.json"), "http://127.0.0.1:9");
  config.serve = { ...config.serve, ...serve };
  const fixture = await serveFixture({
    script: { rules: [] },
    checkoutDir: checkout.dir,
    workspaceDir,
    handlerOptions: {
      extraRoutes: ({ sessions, logError, reloadTools, streamTicket }) => {
        context = {
          ...testSandboxAccess(),
          workspaceDir,
          checkoutDir: checkout.dir,
          config,
          sessions,
          logError,
          assets: pageAssets,
          reloadTools,
          streamTicket,
        };
        return webRoutes(context);
      },
    },
  });
  if (context === undefined) throw new Error("serve did not ask for the web room's routes");
  return { fixture, context };
}

test("each view's routes, loaded on use, are the routes it declares, with serve's default auth", async () => {
  const { fixture, context } = await webServe();
  await using _ = fixture;
  const git = new RepoGit(checkout.dir);
  const groups = viewRoutes(context, git, new ViewUpdates({ workspaceDir: context.workspaceDir, checkoutDir: checkout.dir, git, maxStreams: 8 }));
  expect(groups.length).toBe(6);
  for (const { declared, load } of groups) {
    const routes: Route[] = await load();
    expect(routeListing(routes).sort()).toEqual(declared.map(([method, pattern]) => `${method} ${pattern}`).sort());
    expect(routes.filter((entry) => !entry.auth || entry.sameOrigin || entry.page)).toEqual([]);
  }
});

test("a view's route answers through serve on its first request, its module loaded then", async () => {
  const { fixture } = await webServe();
  await using _ = fixture;
  const usage = await fixture.handler.fetch(new Request("http://org.test/v1/tool-usage"));
  expect(usage.status).toBe(200);
  expect(await usage.json()).toMatchObject({ tools: expect.any(Array) });
  const growth = await fixture.handler.fetch(new Request("http://org.test/v1/growth"));
  expect(growth.status).toBe(200);
  expect(await growth.json()).toEqual({ proposals: [], runs: [] });
  expect(fixture.errors).toEqual([]);
});

test("/compact and /context from the web room: a session's summaries now, and each persona's next prompt part by part", async () => {
  const { fixture } = await webServe();
  await using _ = fixture;
  const call = (path: string, init: RequestInit = {}) => fixture.handler.fetch(new Request(`http://org.test${path}`, init));
  const post = (path: string, body: unknown) =>
    call(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const created = await post("/v1/sessions", { mode: "direct:agent" });
  const { session } = (await created.json()) as { session: string };
  const context = await call(`/v1/sessions/${session}/context`);
  expect(context.status).toBe(200);
  const { said } = (await context.json()) as { said: string };
  expect(said).toMatch(/^agent \([^)]+\): next prompt \d+ of a 4\.1 k-token window/);
  for (const part of ["system prompt", "tools", "summary         none", "reply reserve"]) expect(said).toContain(part);
  expect((await call(`/v1/sessions/${session}/context?persona=nobody`)).status).toBe(404);
  const compact = await post(`/v1/sessions/${session}/compact`, { focus: "the deploy" });
  expect(compact.status).toBe(200);
  expect(await compact.json()).toEqual({ said: "agent: nothing compacted (agent has no earlier messages to summarise)" });
  expect((await post(`/v1/sessions/${session}/compact`, { focus: 3 })).status).toBe(400);
  expect(fixture.errors).toEqual([]);
});

// Issue 74, item 5: 300 streams of the views' updates with one cookie were all accepted. They are bounded per server,
// as a session's event streams are (serve.streamsPerSession): the next is a 429 naming the bound, a closed one frees its place.
test("the views' update streams are bounded: exactly the bound let in, the rest 429 naming it; one closed, the next is let in", async () => {
  const { fixture } = await webServe({ streamsPerSession: 3 });
  await using _ = fixture;
  const open = () => fixture.handler.fetch(new Request("http://org.test/v1/web/updates", { headers: { accept: "text/event-stream" } }));
  const answers = await Promise.all(Array.from({ length: 12 }, open));
  const accepted = answers.filter((answer) => answer.status === 200);
  const refused = answers.filter((answer) => answer.status === 429);
  expect([accepted.length, refused.length]).toEqual([3, 9]);
  const refusal = (await refused[0]?.json()) as { error: { message: string } };
  expect(refusal.error.message).toContain("have 3 update streams open already");
  expect(refusal.error.message).toContain("serve.streamsPerSession");
  expect(refused[0]?.headers.get("retry-after")).toBe("5");
  for (const answer of refused.slice(1)) await answer.body?.cancel();
  // An accepted one is a live stream.
  const reader = accepted[0]?.body?.getReader();
  expect(new TextDecoder().decode((await reader?.read())?.value)).toContain(": listening");
  // It closes: its place is free at once, and only that one.
  await reader?.cancel();
  const next = await open();
  expect(next.status).toBe(200);
  expect((await open()).status).toBe(429);
  for (const answer of [...accepted.slice(1), next]) await answer.body?.cancel();
  const again = await Promise.all(Array.from({ length: 3 }, open));
  expect(again.map((answer) => answer.status)).toEqual([200, 200, 200]);
  for (const answer of again) await answer.body?.cancel();
});
