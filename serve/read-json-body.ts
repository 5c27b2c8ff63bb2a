import type { z } from "zod";
import { HttpError } from "./http-error.ts";
import { readBoundedBody } from "./read-bounded-body.ts";

/**
 * Reads a request's JSON body (Content-Type application/json, else 415), at most `maxBytes` (413 past it, without reading the rest), and validates it
 * with `schema` (400 naming each wrong field).
 */
export async function readJsonBody<Schema extends z.ZodType>(request: Request, schema: Schema, maxBytes: number): Promise<z.output<Schema>> {
  // A web page may send a cross-origin "simple" POST (text/plain, a form) without asking first; JSON it may not.
  const type = request.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new HttpError(
      415,
      `send the body as JSON with 'Content-Type: application/json' (got ${type ? JSON.stringify(type.slice(0, 80)) : "none"}).`,
    );
  }
  const body = await readBoundedBody(request, maxBytes);
  if (body.byteLength === 0) throw new HttpError(400, "the request has no body; send a JSON object (Content-Type: application/json).");
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new HttpError(400, `the body is not valid JSON (${detail}); send a JSON object.`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.length ? issue.path.map(String).join(".") : "(body)"}: ${issue.message}`);
    throw new HttpError(400, `the body does not fit: ${issues.join("; ")}.`);
  }
  return parsed.data;
}
