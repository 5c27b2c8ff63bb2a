/** The OpenAI-compatible API root of a server: its base URL with `/v1`, which a base URL may already end in. */
function apiRoot(baseUrl: string): string {
  const root = baseUrl.replace(/\/+$/, "");
  return root.endsWith("/v1") ? root : `${root}/v1`;
}

/** `POST` here streams a completion. */
export function chatCompletionsUrl(baseUrl: string): string {
  return `${apiRoot(baseUrl)}/chat/completions`;
}

/** `GET` here lists the server's models. */
export function modelsUrl(baseUrl: string): string {
  return `${apiRoot(baseUrl)}/models`;
}

/** `POST` here streams a completion from Anthropic's Messages API (`/v1/messages`). */
export function anthropicMessagesUrl(baseUrl: string): string {
  return `${apiRoot(baseUrl)}/messages`;
}
