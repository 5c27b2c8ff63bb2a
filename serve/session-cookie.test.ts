import { expect, test } from "bun:test";
import { cookieMatches, newLoginToken, sessionCookieFor, setCookieHeader } from "./session-cookie.ts";

test("the session cookie: made from the token, HttpOnly and SameSite=Strict, matched only with its own name and value", () => {
  const token = newLoginToken();
  expect(token).toMatch(/^[\w-]{43}$/);
  expect(newLoginToken()).not.toBe(token);
  const cookie = sessionCookieFor(token);
  expect(setCookieHeader(cookie)).toMatch(/^org_session_[0-9a-f]{12}=[\w-]+; Path=\/; HttpOnly; SameSite=Strict$/);
  expect(cookie.value).not.toContain(token);
  expect(cookieMatches(`a=b; ${cookie.name}=${cookie.value}`, token)).toBe(true);
  expect(cookieMatches(`${cookie.name}=${cookie.value}x`, token)).toBe(false);
  expect(cookieMatches(`${cookie.name}=${cookie.value}`, newLoginToken())).toBe(false);
  expect(cookieMatches(`other=${cookie.value}`, token)).toBe(false);
  expect(cookieMatches(null, token)).toBe(false);
  expect(cookieMatches(`${cookie.name}=`, token)).toBe(false);
});
