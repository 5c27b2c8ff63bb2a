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

/** The URL as org shows it: without userinfo. Text that is no URL is shown with anything before an `@` cut. */
export function displayUrl(baseUrl: string): string {
  const parsed = parse(baseUrl);
  if (!parsed) return baseUrl.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, "$1");
  return serverEndpoint(baseUrl).url;
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
