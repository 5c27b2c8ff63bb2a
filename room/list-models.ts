/** The model server cannot be asked for its models; the message says why and what to check. */
export class ModelListError extends Error {
  override name = "ModelListError";
}

/** The model ids a server offers, from `GET {baseUrl}/v1/models` (Ollama, llama.cpp, vLLM, LM Studio). */
export async function listModels(baseUrl: string, options: { signal?: AbortSignal; apiKey?: string } = {}): Promise<string[]> {
  const root = baseUrl.replace(/\/+$/, "");
  const url = root.endsWith("/v1") ? `${root}/models` : `${root}/v1/models`;
  let response: Response;
  try {
    response = await fetch(url, {
      signal: options.signal ?? null,
      headers: options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {},
    });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new ModelListError(
      `no model server answered at ${baseUrl} (${error instanceof Error ? error.message : String(error)}). Start one with 'ollama serve' or check the persona's baseUrl.`,
    );
  }
  if (!response.ok) {
    throw new ModelListError(`${url} answered HTTP ${response.status}; is ${baseUrl} an OpenAI-compatible server?`);
  }
  const body = (await response.json().catch(() => undefined)) as { data?: { id?: unknown }[] } | undefined;
  if (!body || !Array.isArray(body.data)) throw new ModelListError(`${url} did not return a model list ({"data": [...]}).`);
  return body.data.map((entry) => entry.id).filter((id): id is string => typeof id === "string");
}
