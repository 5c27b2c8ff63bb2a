import { newLoginToken } from "../../serve/session-cookie.ts";
import type { Command } from "../command/command.ts";
import { nameAndSummary } from "../command/command-summaries.ts";
import { runServe } from "./run-serve.ts";

const HELP =
  `Usage: org web [--port N] [--host H] [--config FILE] [--workspace DIR] [--workers N] ` +
  `[--grow-every DURATION] [--supervise] [--unsafe-no-sandbox]

The room in a browser: starts org serve with the web room at / and prints the one URL to open, which carries a
login token. Opening it logs the browser in (an HttpOnly, SameSite=Strict session cookie) and drops the token from
the address bar; without the token or that cookie every route but /health answers 401, the page included.
The token is new at each start unless ORG_API_TOKEN is set (then it is that token, and 'Authorization: Bearer'
works as with org serve). The page: the room (each persona's reply in its own lane, tool calls, approvals), and the
views Changes, Tools, Candidates, Growth, Supervisor and Memory, each live. The room follows the room's own tool
policies, as org chat does (a change to the workspace asks on the page), and takes an edit of org.config.json as
org chat does; serve's routes for programs keep serve.tools. It is bundled from org's installed
packages and loads nothing from elsewhere. See web/README.md.

Options:
  --port N           port to listen on (default 7300; 0 picks a free one)
  --host H           address to bind (default 127.0.0.1)
  --supervise        run org supervise inside it too, so the Supervisor view follows a live supervisor
  (the other options are org serve's: see org serve --help)

Example:
  org web
  Open http://127.0.0.1:7300/?token=6Pq…Zx in a browser to watch and steer org (Ctrl-C stops it).`;

/** `org web`: serve with the web room, on port 7300, behind a login token made at each start. */
export const webCommand: Command = {
  ...nameAndSummary("web"),
  help: HELP,
  run: (args, signal) =>
    runServe(args, signal, {
      policies: "room",
      command: "web",
      defaultPort: 7300,
      token: (fromEnvironment) => fromEnvironment ?? newLoginToken(),
      announce: ({ url, token }) => `Open ${url}/?token=${encodeURIComponent(token ?? "")} in a browser to watch and steer org (Ctrl-C stops it).`,
    }),
};
