import { expect, test } from "bun:test";
import { BotApi, TelegramApiError, TelegramUnreachableError } from "./bot-api.ts";

// The token is part of every URL the client calls: whatever fails, no error it makes holds it.
const TOKEN = "5123456789:AAF-never-in-an-error-Qw3Er5Ty7Ui9";

async function failure(work: Promise<unknown>): Promise<Error> {
  try {
    await work;
  } catch (error) {
    return error as Error;
  }
  throw new Error("the call did not fail");
}

test("a server nobody listens on, an echoing error, a proxy's page: the errors name the method, never the token", async () => {
  const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") });
  const port = closed.port;
  await closed.stop(true);
  const unreachable = await failure(new BotApi({ apiBase: `http://127.0.0.1:${port}`, token: TOKEN }).call("getMe", {}, AbortSignal.timeout(10_000)));
  expect(unreachable).toBeInstanceOf(TelegramUnreachableError);
  expect(unreachable.message).toContain(`could not reach the Bot API at http://127.0.0.1:${port} (getMe)`);

  await using echo = {
    server: Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) => {
        const path = new URL(request.url).pathname;
        if (path.endsWith("/getMe"))
          return Response.json({ ok: false, error_code: 400, description: `Bad Request: unknown URL ${request.url}` }, { status: 400 });
        return new Response(`<html>502 from the proxy for ${request.url}</html>`, { status: 502 });
      },
    }),
    async [Symbol.asyncDispose]() {
      await this.server.stop(true);
    },
  };
  const api = new BotApi({ apiBase: `http://127.0.0.1:${echo.server.port}/`, token: TOKEN });
  const echoed = await failure(api.call("getMe", {}, AbortSignal.timeout(10_000)));
  expect(echoed).toBeInstanceOf(TelegramApiError);
  expect(echoed.message).toContain("the Bot API's getMe failed: 400 Bad Request: unknown URL");
  const proxied = await failure(api.call("sendMessage", { chat_id: 1, text: "x" }, AbortSignal.timeout(10_000)));
  expect(proxied).toBeInstanceOf(TelegramUnreachableError);
  expect(proxied.message).toBe(`the Bot API at http://127.0.0.1:${echo.server.port} answered HTTP 502 (sendMessage)`);
  for (const error of [unreachable, echoed, proxied]) {
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain("never-in-an-error");
  }
});
