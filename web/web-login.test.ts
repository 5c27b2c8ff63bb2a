import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PAGE_KEY_FRAGMENT, PAGE_KEY_HEADER } from "../serve/page-key-names.ts";
import { newLoginToken, pageKeyFor, STREAM_TICKET_MS, streamTicketFor } from "../serve/session-cookie.ts";
import { scriptedConfig } from "../testing/scripted-config.ts";
import { serveFixture } from "../testing/serve-fixture.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";
import { pageAssets } from "./page-assets.ts";
import { webRoutes } from "./web-routes.ts";

// Issue 74, item 4: browsers send a host's cookies to every port, so a listener on another port of 127.0.0.1 gets the
// web room's session cookie. Replayed alone, by a program that sets whatever headers it likes, it must open nothing of
// the room; the page, which holds its origin's key, must still do everything.
const checkout = tempGitRepo("org-web-login-checkout-");
const workspaces: string[] = [];
afterAll(() => {
  checkout[Symbol.dispose]();
  for (const workspace of workspaces) rmSync(workspace, { recursive: true, force: true });
});

const ORIGIN = "http://127.0.0.1:7300";

async function webServe(token: string) {
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-web-login-ws-"));
  workspaces.push(workspaceDir);
  const config = scriptedConfig(join(workspaceDir, "org.config.json"), "http://127.0.0.1:9");
  return serveFixture({
    workspaceDir,
    script: { rules: [], fallback: { text: "heard" } },
    checkoutDir: checkout.dir,
    apiToken: token,
    handlerOptions: {
      extraRoutes: ({ sessions, logError, reloadTools, streamTicket }) =>
        webRoutes({
          ...testSandboxAccess(),
          workspaceDir,
          checkoutDir: checkout.dir,
          config,
          sessions,
          logError,
          assets: pageAssets,
          reloadTools,
          streamTicket,
        }),
    },
  });
}

/** A request as a program replaying what it got sends it: any headers it likes, the browser's own included. */
function replayed(path: string, headers: Record<string, string>, init: { method?: string; body?: string } = {}): Request {
  const posting = init.method === "POST";
  return new Request(`${ORIGIN}${path}`, {
    method: init.method ?? "GET",
    headers: { host: "127.0.0.1:7300", "sec-fetch-site": "same-origin", ...(posting ? { "content-type": "application/json" } : {}), ...headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
  });
}

describe("the web room's login outside its origin", () => {
  test("a replayed cookie alone opens nothing of the room on any route; with the page's key and a ticket everything works", async () => {
    const token = newLoginToken();
    await using fixture = await webServe(token);
    const fetchOf = (request: Request) => fixture.handler.fetch(request);

    // The login: a 303 to the page without the token, the cookie set, the page's key in the fragment only.
    const login = await fetchOf(replayed(`/?token=${token}`, {}));
    expect(login.status).toBe(303);
    const location = login.headers.get("location") ?? "";
    expect(location).toBe(`/#${PAGE_KEY_FRAGMENT}=${pageKeyFor(token)}`);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    expect(cookie).toMatch(/^org_session_[0-9a-f]{12}=/);
    const key = { [PAGE_KEY_HEADER]: new URLSearchParams(location.split("#")[1]).get(PAGE_KEY_FRAGMENT) ?? "" };

    // A session with a turn in it, made with the page's key.
    const created = await fetchOf(replayed("/v1/sessions", { cookie, ...key }, { method: "POST", body: "{}" }));
    expect(created.status).toBe(201);
    const { session } = (await created.json()) as { session: string };
    const said = await fetchOf(replayed(`/v1/sessions/${session}/messages`, { cookie, ...key }, { method: "POST", body: '{"text":"hello"}' }));
    expect(said.status).toBe(202);

    // The cookie alone, on every kind of route: reads, views, streams, messages, approvals, tickets, commands.
    const routes: [string, string, string?][] = [
      ["GET", "/v1/sessions"],
      ["GET", `/v1/sessions/${session}`],
      ["GET", `/v1/sessions/${session}/transcript`],
      ["GET", `/v1/sessions/${session}/events`],
      ["GET", `/v1/sessions/${session}/screenshot?path=screenshots/1.png`],
      ["GET", "/v1/web/updates"],
      ["GET", `/v1/web/opening?session=${session}`],
      ["GET", "/v1/changes"],
      ["GET", "/v1/tool-usage"],
      ["GET", "/v1/memory/search?q=hello"],
      ["POST", `/v1/sessions/${session}/messages`, '{"text":"from another port"}'],
      ["POST", `/v1/sessions/${session}/approvals/a1`, '{"answer":"yes"}'],
      ["POST", `/v1/sessions/${session}/stop`, "{}"],
      ["POST", `/v1/sessions/${session}/mode`, '{"mode":"group"}'],
      ["POST", "/v1/stream-tickets", "{}"],
      ["POST", "/v1/changes/undo", "{}"],
    ];
    const wrongKey = { [PAGE_KEY_HEADER]: pageKeyFor(newLoginToken()) };
    for (const [method, path, body] of routes) {
      const stream: Record<string, string> = path.endsWith("/events") || path.endsWith("/updates") ? { accept: "text/event-stream" } : {};
      for (const headers of [
        { cookie, ...stream },
        { cookie, ...stream, ...wrongKey },
      ]) {
        const answer = await fetchOf(replayed(path, headers, { method, ...(body !== undefined ? { body } : {}) }));
        expect({ method, path, status: answer.status }).toEqual({ method, path, status: 401 });
        expect(((await answer.json()) as { error: { message: string } }).error.message).toContain("the session cookie alone opens nothing");
      }
      // The key alone (no cookie) is not a login either.
      const keyAlone = await fetchOf(replayed(path, { ...stream, ...key }, { method, ...(body !== undefined ? { body } : {}) }));
      expect({ path, status: keyAlone.status }).toEqual({ path, status: 401 });
    }
    // What the cookie alone does read: the page's shell and its bundle, which hold nothing of the room.
    const shell = await fetchOf(replayed(`/?session=${session}`, { cookie }));
    expect(shell.status).toBe(200);
    const html = await shell.text();
    expect(html).not.toContain(session);
    expect(html).not.toContain("hello");
    expect(html).not.toContain(key[PAGE_KEY_HEADER]);

    // The page: its key on each fetch, a ticket for each stream.
    for (const [method, path, body] of routes.filter(([, path]) => !path.endsWith("/events") && !path.endsWith("/updates"))) {
      const answer = await fetchOf(replayed(path, { cookie, ...key }, { method, ...(body !== undefined ? { body } : {}) }));
      expect({ path, refused: answer.status === 401 || answer.status === 403 }).toEqual({ path, refused: false });
      await answer.body?.cancel();
    }
    const ticketAnswer = await fetchOf(replayed("/v1/stream-tickets", { cookie, ...key }, { method: "POST", body: "{}" }));
    const { ticket, expiresInMs } = (await ticketAnswer.json()) as { ticket: string; expiresInMs: number };
    expect(expiresInMs).toBe(STREAM_TICKET_MS);
    for (const path of [`/v1/sessions/${session}/events?after=0`, "/v1/web/updates"]) {
      const withTicket = `${path}${path.includes("?") ? "&" : "?"}ticket=${encodeURIComponent(ticket)}`;
      const opened = await fetchOf(replayed(withTicket, { cookie, accept: "text/event-stream" }));
      expect({ path, status: opened.status }).toEqual({ path, status: 200 });
      expect(opened.headers.get("content-type")).toContain("text/event-stream");
      await opened.body?.cancel();
      // The ticket without the cookie, a forged or an expired one, and a ticket on a route that is no stream: refused.
      expect((await fetchOf(replayed(withTicket, { accept: "text/event-stream" }))).status).toBe(401);
      const forged = `${path}${path.includes("?") ? "&" : "?"}ticket=${encodeURIComponent(streamTicketFor(newLoginToken(), Date.now()))}`;
      expect((await fetchOf(replayed(forged, { cookie, accept: "text/event-stream" }))).status).toBe(401);
      const old = `${path}${path.includes("?") ? "&" : "?"}ticket=${encodeURIComponent(streamTicketFor(token, Date.now() - STREAM_TICKET_MS - 1))}`;
      expect((await fetchOf(replayed(old, { cookie, accept: "text/event-stream" }))).status).toBe(401);
    }
    expect((await fetchOf(replayed(`/v1/sessions?ticket=${encodeURIComponent(ticket)}`, { cookie }))).status).toBe(401);
    // The page's first read: the newest session, its state as its route gives it, and a ticket that opens its stream.
    const opening = (await (await fetchOf(replayed("/v1/web/opening", { cookie, ...key }))).json()) as {
      session: string;
      state: { session: string; seq: number };
      ticket: string;
    };
    expect(opening.session).toBe(session);
    const route = await (await fetchOf(replayed(`/v1/sessions/${session}?limit=50`, { cookie, ...key }))).json();
    expect(opening.state).toEqual(route as typeof opening.state);
    const followed = await fetchOf(
      replayed(`/v1/sessions/${session}/events?after=${opening.state.seq}&ticket=${encodeURIComponent(opening.ticket)}`, {
        cookie,
        accept: "text/event-stream",
      }),
    );
    expect(followed.status).toBe(200);
    await followed.body?.cancel();
    const unknown = (await (await fetchOf(replayed("/v1/web/opening?session=no-such-session", { cookie, ...key }))).json()) as object;
    expect(unknown).toMatchObject({ session: "no-such-session", state: null });
    // The bearer token, as a program holds it, is unchanged.
    expect((await fetchOf(replayed("/v1/sessions", { authorization: `Bearer ${token}` }))).status).toBe(200);
  }, 60_000);
});

describe("a page elsewhere reading the room (issue 74, item 5a)", () => {
  test("routes reading or changing the room refuse Sec-Fetch-Site same-site and cross-site, whatever they accept; same-origin passes", async () => {
    const token = newLoginToken();
    await using fixture = await webServe(token);
    const fetchOf = (request: Request) => fixture.handler.fetch(request);
    const login = await fetchOf(replayed(`/?token=${token}`, {}));
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    // Everything the page holds, so only the origin check can refuse.
    const page = { cookie, [PAGE_KEY_HEADER]: pageKeyFor(token) };
    const created = await fetchOf(replayed("/v1/sessions", page, { method: "POST", body: "{}" }));
    const { session } = (await created.json()) as { session: string };
    const reading = fixture.handler.routes.filter((entry) => entry.auth && !entry.page);
    expect(reading.map((entry) => entry.pattern)).toContain("/v1/web/updates");
    for (const entry of reading) {
      const path = entry.pattern.replace(":id", session).replace(/:\w+/g, "x");
      for (const method of entry.methods) {
        for (const site of ["same-site", "cross-site"]) {
          for (const accept of ["text/event-stream", "*/*"]) {
            const init = method === "GET" || method === "DELETE" ? { method } : { method, body: "{}" };
            const answer = await fetchOf(replayed(path, { ...page, "sec-fetch-site": site, accept }, init));
            expect({ method, path, site, accept, status: answer.status }).toEqual({ method, path, site, accept, status: 403 });
            await answer.body?.cancel();
          }
        }
      }
    }
    // The room's own page: same-origin, or typed into the address bar (none), or a program (no header).
    for (const site of ["same-origin", "none", undefined]) {
      for (const path of [`/v1/sessions/${session}`, "/v1/changes"]) {
        const headers: Record<string, string> = { ...page, ...(site ? { "sec-fetch-site": site } : {}) };
        const request = replayed(path, headers);
        if (site === undefined) request.headers.delete("sec-fetch-site");
        expect({ site, path, status: (await fetchOf(request)).status }).toEqual({ site, path, status: 200 });
      }
    }
    // The page's shell may be opened from a link elsewhere (it holds nothing of the room); the cookie is not sent then.
    expect((await fetchOf(replayed("/changes", { cookie, "sec-fetch-site": "cross-site" }))).status).toBe(200);
  }, 60_000);
});
