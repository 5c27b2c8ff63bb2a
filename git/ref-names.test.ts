import { expect, test } from "bun:test";
import {
  CANDIDATE_BRANCH_PATTERN,
  CANDIDATE_REF_PATTERN,
  candidateBranchName,
  isMainOrCandidate,
  isObjectId,
  PROMOTE_TAG_PATTERN,
  PROMOTION_TAG_PATTERN,
  utcSecondStamp,
} from "./ref-names.ts";

const BAD = [
  "--force",
  "cand/20261123T101500Z/../main",
  "cand/2026",
  "cand/20261123T101500",
  "cand/20261123T101500Z\n",
  "xcand/20261123T101500Z",
  "Cand/20261123T101500Z",
];

test("a made name passes the pattern, as a branch and as a full ref", () => {
  const name = candidateBranchName(new Date("2026-11-23T10:15:00.999Z"));
  expect(name).toBe("cand/20261123T101500Z");
  expect(CANDIDATE_BRANCH_PATTERN.test(name)).toBe(true);
  expect(CANDIDATE_REF_PATTERN.test(`refs/heads/${name}`)).toBe(true);
  expect(CANDIDATE_BRANCH_PATTERN.test(`refs/heads/${name}`)).toBe(false);
  expect(CANDIDATE_REF_PATTERN.test(name)).toBe(false);
});

test("--ref takes main or a candidate branch and nothing else", () => {
  expect(isMainOrCandidate("main")).toBe(true);
  expect(isMainOrCandidate("cand/20261123T101500Z")).toBe(true);
  for (const bad of [...BAD, "master", "main2", "refs/heads/main", ""]) expect(isMainOrCandidate(bad)).toBe(false);
  for (const bad of BAD) {
    expect(CANDIDATE_BRANCH_PATTERN.test(bad)).toBe(false);
    expect(CANDIDATE_REF_PATTERN.test(`refs/heads/${bad}`)).toBe(false);
  }
});

test("promote/ and rollback/ tags carry the same UTC second; only promote/ passes as a promotion to undo", () => {
  const stamp = utcSecondStamp(new Date("2026-11-23T10:15:00.999Z"));
  expect(stamp).toBe("20261123T101500Z");
  expect(PROMOTE_TAG_PATTERN.test(`promote/${stamp}`)).toBe(true);
  expect(PROMOTE_TAG_PATTERN.test(`rollback/${stamp}`)).toBe(false);
  for (const kind of ["promote", "rollback"]) expect(PROMOTION_TAG_PATTERN.test(`${kind}/${stamp}`)).toBe(true);
  for (const bad of [`cand/${stamp}`, `promote/${stamp}x`, `promote/${stamp.slice(1)}`, `refs/tags/promote/${stamp}`, `promote/${stamp}\n`]) {
    expect(PROMOTE_TAG_PATTERN.test(bad)).toBe(false);
    expect(PROMOTION_TAG_PATTERN.test(bad)).toBe(false);
  }
});

test("isObjectId: a full SHA-1 or SHA-256 id in lower case, nothing git would resolve", () => {
  expect(isObjectId("a".repeat(40))).toBe(true);
  expect(isObjectId("0123456789abcdef".repeat(4))).toBe(true);
  for (const bad of ["HEAD", "main", "a".repeat(39), "a".repeat(41), "a".repeat(63), "A".repeat(40), `${"a".repeat(40)}\n`, `-${"a".repeat(39)}`, ""])
    expect(isObjectId(bad)).toBe(false);
});
