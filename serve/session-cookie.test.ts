import { expect, test } from "bun:test";
import {
  cookieMatches,
  newLoginToken,
  pageKeyFor,
  pageKeyMatches,
  STREAM_TICKET_MS,
  sessionCookieFor,
  setCookieHeader,
  streamTicketFor,
  streamTicketValid,
} from "./session-cookie.ts";

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

test("the page's key and a stream ticket: made from the token, checked in constant time, a ticket only while it is fresh", () => {
  const token = newLoginToken();
  const key = pageKeyFor(token);
  expect(key).not.toContain(token);
  expect(key).not.toBe(sessionCookieFor(token).value);
  expect(pageKeyMatches(key, token)).toBe(true);
  expect(pageKeyMatches(`${key}x`, token)).toBe(false);
  expect(pageKeyMatches(pageKeyFor(newLoginToken()), token)).toBe(false);
  expect(pageKeyMatches(null, token)).toBe(false);
  expect(pageKeyMatches("", token)).toBe(false);
  const now = 1_700_000_000_000;
  const ticket = streamTicketFor(token, now);
  expect(ticket).toMatch(/^\d+\.[\w-]{43}$/);
  expect(streamTicketValid(ticket, token, now)).toBe(true);
  expect(streamTicketValid(ticket, token, now + STREAM_TICKET_MS - 1)).toBe(true);
  expect(streamTicketValid(ticket, token, now + STREAM_TICKET_MS)).toBe(false);
  expect(streamTicketValid(ticket, newLoginToken(), now)).toBe(false);
  // Its time moved on, or set far ahead with a MAC made for it by someone without the token: refused.
  const [, mac] = ticket.split(".");
  expect(streamTicketValid(`${now + STREAM_TICKET_MS * 100}.${mac}`, token, now)).toBe(false);
  expect(streamTicketValid(streamTicketFor(token, now + STREAM_TICKET_MS * 100), token, now)).toBe(false);
  for (const bad of [null, "", ".", `${now}`, `x.${mac}`, `${ticket}.`]) expect(streamTicketValid(bad, token, now)).toBe(false);
});
