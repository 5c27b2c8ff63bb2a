import type { NetworkSettings } from "../config/network-settings.ts";
import {
  hostAllowed,
  type PublicHttpLimits,
  type PublicHttpOptions,
  PublicHttpRefusedError,
  type PublicHttpResult,
  publicHttpRequest,
} from "./public-http-request.ts";

export type PublicGetOptions = PublicHttpOptions & { network: NetworkSettings } & Pick<PublicHttpLimits, "inspect">;

/** The host rule of web_fetch: `network.allowedHosts`, unless `defaultDeny` is off. */
function checkListed(network: NetworkSettings): (host: string) => void {
  return (host) => {
    const { allowedHosts, defaultDeny } = network;
    if (!defaultDeny || hostAllowed(host, allowedHosts)) return;
    const listed = allowedHosts.length > 0 ? `it allows ${allowedHosts.slice(0, 10).join(", ")}` : "it allows no host yet";
    throw new PublicHttpRefusedError(`${host} is not in network.allowedHosts of org.config.json (${listed}); ask the user to add it.`);
  };
}

/**
 * GET a public URL for web_fetch: every hop's URL checked (scheme, no credentials, port, network.allowedHosts) and its
 * request given to `inspect` (the secret scan) before its host is resolved once and every address checked, the
 * connection made to that address; at most 3 redirects. With `download`, any type is asked for, up to its `maxBytes`.
 */
export function publicHttpGet(text: string, options: PublicGetOptions, download?: { maxBytes: number }): Promise<PublicHttpResult> {
  const { network, ...reach } = options;
  // A download (web_fetch's save_to) takes any type, up to its own bound.
  const accept = download ? "*/*" : "text/html, text/plain, application/json, text/*;q=0.9";
  return publicHttpRequest(
    text,
    { method: "GET", headers: [["Accept", accept]], followRedirects: true },
    { ...reach, tool: "web_fetch", timeoutS: network.timeoutS, maxBytes: download?.maxBytes ?? network.maxBytes, checkHost: checkListed(network) },
  );
}
