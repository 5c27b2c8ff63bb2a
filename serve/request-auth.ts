import { bearerMatches } from "./bearer-auth.ts";
import { HttpError } from "./http-error.ts";
import { SIGNATURE_HEADER, SignatureCheck } from "./request-signature.ts";
import { SeenSignatures } from "./seen-signatures.ts";

/**
 * Who may call: the bearer token (ORG_API_TOKEN), a request signature (ORG_API_HMAC_SECRET), either when
 * both are set, anyone when neither is (loopback only, checked at start).
 */
export function requestAuth(options: {
  apiToken?: string;
  hmac?: { secret: string; ttlS: number };
  maxBodyBytes: number;
  /** Where seen signatures are kept across restarts (`.org/serve/seen-signatures`); memory only without it. */
  workspaceDir?: string;
  fsync?: boolean;
}) {
  const seen = options.hmac
    ? new SeenSignatures({ ...(options.workspaceDir !== undefined ? { workspaceDir: options.workspaceDir } : {}), fsync: options.fsync ?? false })
    : undefined;
  const signatures = options.hmac ? new SignatureCheck(options.hmac.secret, options.hmac.ttlS, Date.now, seen) : undefined;
  return {
    required: options.apiToken !== undefined || signatures !== undefined,
    close: () => seen?.close(),
    /** The request (with its body still readable) when it may pass; HttpError 401 otherwise. */
    async check(request: Request): Promise<Request> {
      if (options.apiToken === undefined && signatures === undefined) return request;
      if (signatures && request.headers.has(SIGNATURE_HEADER)) return signatures.verify(request, options.maxBodyBytes);
      if (options.apiToken !== undefined && bearerMatches(request.headers.get("authorization"), options.apiToken)) return request;
      const given = request.headers.has("authorization");
      const ways = [
        options.apiToken !== undefined ? "'Authorization: Bearer <token>' (its ORG_API_TOKEN)" : "",
        signatures ? "a request signature (x-org-timestamp and x-org-signature, with its ORG_API_HMAC_SECRET)" : "",
      ].filter(Boolean);
      throw new HttpError(
        401,
        given && options.apiToken !== undefined
          ? "the bearer token is wrong; send the server's ORG_API_TOKEN as 'Authorization: Bearer <token>'."
          : `this server needs ${ways.join(" or ")} on every route but /health.`,
        { "www-authenticate": 'Bearer realm="org"' },
      );
    },
  };
}
