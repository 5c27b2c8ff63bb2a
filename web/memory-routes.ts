import { readJsonBody } from "../serve/read-json-body.ts";
import { HttpError } from "../serve/http-error.ts";
import { type Route, route } from "../serve/router.ts";
import { webApiSchemas } from "./web-api.ts";
import { refusalsAs409 } from "./refusal-answer.ts";
import type { WebContext } from "./web-routes.ts";

function storeOf(context: WebContext) {
  if (!context.memory)
    throw new HttpError(409, "memory is off for this server (its database could not be opened; see the server's log, or org memory rebuild).");
  return context.memory;
}

/** `GET /v1/memory/search?q=…&limit=N` and `POST /v1/memory/forget`: what `org memory search|forget` do, on the server's store. */
export function memoryRoutes(context: WebContext): Route[] {
  return [
    route("GET", "/v1/memory/search", async ({ request }) => {
      const url = new URL(request.url);
      const query = url.searchParams.get("q") ?? "";
      const limit = Number(url.searchParams.get("limit") ?? 20);
      if (query.trim() === "" || query.length > 1000) throw new HttpError(400, "give q, the text to search for (1 to 1000 characters).");
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new HttpError(400, "limit is a whole number from 1 to 100.");
      const outcome = await storeOf(context).search(query, { limit, signal: request.signal });
      return Response.json(
        webApiSchemas().MemorySearchAnswer.parse({
          method: outcome.method,
          note: outcome.note ?? null,
          hits: outcome.hits.map((hit) => ({
            kind: hit.kind,
            sessionId: hit.sessionId ?? null,
            factId: hit.factId ?? null,
            persona: hit.persona,
            time: hit.time,
            snippet: hit.snippet,
          })),
        }),
      );
    }),
    route("POST", "/v1/memory/forget", async ({ request }) => {
      const body = await readJsonBody(request, webApiSchemas().ForgetRequest, context.config.serve.maxBodyBytes);
      const store = storeOf(context);
      const said = await refusalsAs409(() => {
        if ("session" in body) {
          const count = store.forgetSession(body.session);
          return `forgot session ${body.session}: ${count} record${count === 1 ? "" : "s"} out of memory (its transcript stays)`;
        }
        store.forgetFact(body.fact);
        return `forgot fact ${body.fact}`;
      });
      return Response.json(webApiSchemas().ActionAnswer.parse({ ok: true, said }));
    }),
  ];
}
