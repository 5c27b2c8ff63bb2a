// A model server's URL may carry credentials (`http://user:token@host`). They travel as an Authorization
// header and never in a URL org prints, stores or sends.

/** A server URL made ready to call: `url` without userinfo, and the userinfo as an `Authorization` value. */
export type ServerEndpoint = { url: string; authorization?: string };

function parse(url: string): URL | undefined {
  try {
    return new URL(url);
  } catch {
    return undefined;
  }
}

/** Splits the userinfo off a server URL; `user:password` becomes HTTP Basic, a lone `token@` a Bearer token. */
export function serverEndpoint(baseUrl: string): ServerEndpoint {
  const parsed = parse(baseUrl);
  if (!parsed || (parsed.username === "" && parsed.password === "")) return { url: baseUrl };
  const user = decodeURIComponent(parsed.username);
  const password = decodeURIComponent(parsed.password);
  parsed.username = "";
  parsed.password = "";
  const url = parsed.toString().replace(/\/+$/, "");
  const authorization = password === "" ? `Bearer ${user}` : `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  return { url, authorization };
}

// `scheme://userinfo@`: the userinfo runs to the last `@` before the host's end, as a URL parser reads it.
const USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#"'<>\\`]*@/gi;

/**
 * The one URL redaction: every URL in `text` without its userinfo (`http://user:token@host/x` becomes
 * `http://host/x`), a lone token or a user and password alike. Whatever org prints, logs, stores or returns
 * that holds a server URL (a message, an error, a label, a `--json` field) passes here.
 */
export function withoutUserinfo(text: string): string {
  return text.replace(USERINFO, "$1");
}

/** The URL as org shows it: without userinfo, and without a trailing slash when it parses. */
export function displayUrl(baseUrl: string): string {
  const parsed = parse(baseUrl);
  return withoutUserinfo(parsed ? serverEndpoint(baseUrl).url : baseUrl);
}

/** The userinfo values of a URL (user and password), for the redactor to hide wherever they turn up. */
export function urlCredentials(baseUrl: string): string[] {
  const parsed = parse(baseUrl);
  if (!parsed) return [];
  return [parsed.username, parsed.password].filter((value) => value !== "").map((value) => decodeURIComponent(value));
}

/** `scheme://host:port` of a URL: credentials belong to an origin, whatever path a base URL adds. */
export function urlOrigin(url: string): string {
  return parse(url)?.origin ?? url;
}
