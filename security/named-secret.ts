import { namesSecret } from "../config/secret-names.ts";
import { SECRET_SHAPES } from "../config/secret-shapes.ts";
import { looksRandom } from "./scan-for-secrets.ts";

/**
 * A value the room keeps secret, with where it stands as the person reads it (`DB_PASSWORD in .env`, never the value)
 * and whether the outbound scan of web_request and web_fetch refuses a request that holds it (`outbound`). Every one is
 * redacted from what is shown; only those that are secrets by their name, their look or their place stop a request.
 */
export type NamedSecret = { value: string; name: string; outbound: boolean };

/**
 * Whether a secret file's `KEY=value` is a secret a request may not carry: its key names one (`namesSecret`: API_KEY,
 * DB_PASSWORD), or its value has a key's shape (`sk-…`, `ghp_…`) or looks random (a long mixed run of high entropy).
 * `OPENAI_MODEL=gpt-4o-mini`, `AWS_REGION=us-east-1`, `API_BASE_URL=https://…` are settings a request names.
 */
export function sentAsSecret(key: string, value: string): boolean {
  if (namesSecret(key)) return true;
  if (SECRET_SHAPES.some(({ pattern }) => value.search(pattern) !== -1)) return true;
  return looksRandom(key, value);
}
