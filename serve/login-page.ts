/** What a person is told when a page of the web room is asked for without a valid login (a tab older than the server). */
export const LOGIN_NEEDED =
  "org web restarted (each start makes a new login), or this browser's login ended: open the URL that org web printed " +
  "in its terminal when it started (it ends in ?token=…) to log in again.";

/**
 * The answer to a page of the web room asked for without a valid login: a 401 a person can read, saying to open the
 * URL `org web` printed, rather than serve's JSON (which the routes for programs keep). Plain HTML: no script, no style.
 */
export function loginNeededPage(): Response {
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>org: log in again</title>
</head>
<body>
<h1>This room needs its login again</h1>
<p>${LOGIN_NEEDED.replace("?token=…", "<code>?token=…</code>")}</p>
<p>Under <code>org serve</code>, open this page with <code>?token=</code> and the server's ORG_API_TOKEN.</p>
</body>
</html>
`;
  return new Response(html, { status: 401, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
}
