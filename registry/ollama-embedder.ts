import { z } from "zod";
import { environmentSettings } from "../config/environment.ts";
import { displayUrl, serverEndpoint, withoutUserinfo } from "../llm/server-url.ts";
import { redact } from "../security/redact.ts";
import { OrgError } from "../errors/org-error.ts";

/** Turns texts into vectors; the registry caches what it returns by content hash and `cacheKey`. */
export type Embedder = {
  model: string;
  /** Whose vectors these are: the server and the model, so another server's (or an honest one's) are never mixed in. */
  cacheKey: string;
  /** Where the vectors come from, for the search output: `nomic-embed-text at http://…`. */
  label: string;
  embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]>;
};

/** No vectors could be had: no server, no such model, or an answer that is not vectors. */
export class EmbeddingUnavailableError extends OrgError {
  override name = "EmbeddingUnavailableError";
  constructor(message: string) {
    // Printed by `memory search` and `tool search` (and their --json): a server URL in it has no userinfo,
    // and what the server answered keeps none of the environment's keys.
    super(redact(withoutUserinfo(message)));
  }
}

/** Texts sent in one request: a batch's vectors are well under MAX_RESPONSE_BYTES at any usual dimension. */
export const EMBED_BATCH = 64;

const EmbedResponse = z.object({ embeddings: z.array(z.array(z.number())) });
// A server's answer is read only this far: vectors for a batch are well under a megabyte.
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

async function readCapped(response: Response, limit: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new EmbeddingUnavailableError(`the embedding server's answer passed ${limit} bytes; not read further`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** An embedder over Ollama's `POST /api/embed` (`{ model, input: [...] }` → `{ embeddings: [[...]] }`). */
export function ollamaEmbedder(options: { server: string; model: string; authorization?: string; timeoutMs?: number }): Embedder {
  // Credentials in the URL go as a header; the URL that is fetched, cached by and shown carries none.
  const endpoint = serverEndpoint(options.server);
  const base = endpoint.url.replace(/\/+$/, "");
  const url = `${base}/api/embed`;
  const authorization = endpoint.authorization ?? options.authorization;
  // One model gives one length; the first answer sets it and any other is refused.
  let dimensions: number | undefined;
  /** One request: the vectors of `texts` (at most EMBED_BATCH of them). */
  const request = async (texts: string[], signal?: AbortSignal): Promise<Float32Array[]> => {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000);
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ model: options.model, input: texts }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new EmbeddingUnavailableError(`no embedding server answered at ${url} (${error instanceof Error ? error.message : String(error)})`);
    }
    const text = await readCapped(response, MAX_RESPONSE_BYTES);
    if (!response.ok) {
      throw new EmbeddingUnavailableError(`${url} answered ${response.status}: ${text.slice(0, 200).replace(/\s+/g, " ")}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new EmbeddingUnavailableError(`${url} answered something that is not JSON`);
    }
    const parsed = EmbedResponse.safeParse(body);
    if (!parsed.success) throw new EmbeddingUnavailableError(`${url} answered JSON without an "embeddings" list of number lists`);
    const vectors = parsed.data.embeddings;
    const length = dimensions ?? vectors[0]?.length ?? 0;
    if (vectors.length !== texts.length || length === 0 || vectors.some((vector) => vector.length !== length)) {
      throw new EmbeddingUnavailableError(
        `${url} answered ${vectors.length} vectors of uneven, changed or no length for ${texts.length} ` +
          `texts${dimensions ? ` (${options.model} gave ${dimensions} dimensions before)` : ""}`,
      );
    }
    const converted = vectors.map((vector) => Float32Array.from(vector));
    for (const vector of converted) {
      // 1e308 is Infinity as float32, and an all-zero vector has no direction: both would rank as NaN.
      if (!vector.every(Number.isFinite))
        throw new EmbeddingUnavailableError(`${url} answered a vector with a number that is not finite as float32; vectors refused`);
      if (vector.every((value) => value === 0)) throw new EmbeddingUnavailableError(`${url} answered an all-zero vector; vectors refused`);
    }
    dimensions = length;
    return converted;
  };
  return {
    model: options.model,
    cacheKey: `${options.model} at ${base}`,
    label: `${options.model} at ${displayUrl(options.server)}`,
    async embed(texts, signal) {
      // In batches, so no answer comes near MAX_RESPONSE_BYTES however many texts a caller has.
      const vectors: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += EMBED_BATCH)
        vectors.push(...(await request(texts.slice(start, start + EMBED_BATCH), signal)));
      return vectors;
    },
  };
}

/** The embedder the environment names (ORG_EMBED_MODEL at ORG_EMBED_BASE, default OLLAMA_BASE), or none for `off`. */
export function embedderFromEnvironment(): Embedder | undefined {
  const settings = environmentSettings();
  if (!settings.embedModel) return undefined;
  return ollamaEmbedder({
    server: settings.embedBase,
    model: settings.embedModel,
    // OPENAI_API_KEY belongs to OLLAMA_BASE's server only.
    ...(settings.apiKey && settings.embedBase === settings.ollamaBase ? { authorization: `Bearer ${settings.apiKey}` } : {}),
  });
}
