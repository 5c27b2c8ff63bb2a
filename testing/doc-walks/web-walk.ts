// The README's `org web` and docs/web-room.md's `org web --supervise` on a project against the playground: each prints
// the URL to open, whose token logs a browser in to the web room (the page itself is tested in Chromium by
// web/web-room.browser.test.ts).
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Walk, WalkContext, WalkStep } from "../doc-walk.ts";

const OPEN = /^Open (http:\/\/127\.0\.0\.1:\d+\/\?token=\S+) in a browser to watch and steer org \(Ctrl-C stops it\)\.$/m;

/** The printed URL, opened as a browser does: the page (logged in by its token), and the room's health. */
async function opened(output: string, _context: WalkContext): Promise<void> {
  const url = OPEN.exec(output)?.[1];
  if (!url) throw new Error(`no URL to open in:\n${output}`);
  const page = await fetch(url, { redirect: "manual" });
  const login = page.headers.get("set-cookie") ?? "";
  if (!/HttpOnly/i.test(login)) throw new Error(`the URL's token set no login cookie (${page.status}): ${login}`);
  const home = await fetch(new URL("/", url), { headers: { cookie: login.split(";")[0] ?? "" } });
  const html = await home.text();
  if (home.status !== 200 || !/<html/i.test(html)) throw new Error(`the web room's page did not come (${home.status}): ${html.slice(0, 300)}`);
  const anonymous = await fetch(new URL("/", url));
  if (anonymous.status !== 401) throw new Error(`the page answered ${anonymous.status} without the token or its cookie`);
}

/** `org web …` on a port of its own (the page's 7300 may be taken where the tests run), up until the walk ends. */
const web = (doc: string, command: string): WalkStep => ({
  doc,
  command,
  run: { command: `${command} --port 0`, why: "port 7300 may be taken where the tests run" },
  cwd: (context) => join(context.home, "project"),
  ready: OPEN,
  timeoutMs: 60_000,
  after: opened,
});

export const webWalk: Walk = {
  name: "web",
  setup: (context) => {
    mkdirSync(join(context.home, "project"), { mode: 0o755 });
  },
  steps: [web("README.md", "org web"), web("docs/web-room.md", "org web --supervise")],
};
