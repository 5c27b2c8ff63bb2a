import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort } from "../testing/free-port.ts";
import { gitSync, testGitEnv } from "../testing/temp-git-repo.ts";
import { promoteFixture, type ShareMachine, shareMachines, trust } from "../testing/share-machines.ts";
import { CLAMP, WORD_COUNT } from "../testing/toolsmith-fixtures.ts";
import { quarantinedFetch, ShareRemoteError } from "../git/share-git.ts";
import { OfferManifest } from "./offer.ts";
import { readShareState } from "./offer-state.ts";
import { publishOffer, publishRecall } from "./publish-offer.ts";
import { pullOffers } from "./pull-offers.ts";
import {
  allowedSignersPath,
  parsePublicKey,
  readShareSettings,
  ShareSetupError,
  trustedKeys,
  trustKey,
  untrustKey,
  updateShareSettings,
} from "./share-home.ts";

// Three machines and a bare remote over file://, the offers signed with real ssh keys and checked by git's own
// verify; no gate runs here (cycle/land-offers.test.ts judges what lands).
let world: ReturnType<typeof shareMachines>;
let a: ShareMachine;
let b: ShareMachine;
let c: ShareMachine;

beforeAll(async () => {
  world = shareMachines(["alice", "bob", "carol"]);
  [a, b, c] = world.machines as [ShareMachine, ShareMachine, ShareMachine];
  await promoteFixture(a, WORD_COUNT, "cand/20261129T100000Z");
  trust(b, a);
});
afterAll(() => world?.[Symbol.dispose]());

/** Pushes `commit` of `machine`'s repository to `ref` of the remote, as anyone with write access to it could. */
function pushRaw(machine: ShareMachine, commit: string, ref: string): void {
  gitSync(machine.dir, ["push", "--quiet", world.remote, `${commit}:${ref}`]);
}

/** A commit made with plain git in `machine`'s repository: `tree` and `message`, signed with `key` when given. */
function rawCommit(machine: ShareMachine, tree: string, message: string, key?: string): string {
  const sign = key ? ["-c", "gpg.format=ssh", "-c", `user.signingkey=${key}`] : [];
  return gitSync(machine.dir, [...sign, "commit-tree", ...(key ? ["-S"] : []), "-m", message, tree]).trim();
}

describe("the person's share settings and trusted keys live in their org home", () => {
  test("remote and signing key are kept there 0600; keys are trusted from a line or a file, listed, and removed", () => {
    expect(readShareSettings(c.access.home)).toEqual({ remote: world.remote, signingKey: c.key });
    expect(statSync(join(c.home, "share", "settings.json")).mode & 0o777).toBe(0o600);
    const fromLine = parsePublicKey(a.publicKey, undefined, c.dir);
    expect(fromLine.principal).toBe("alice");
    const fromFile = parsePublicKey(`${b.key}.pub`, "bob-laptop", c.dir);
    expect(fromFile.principal).toBe("bob-laptop");
    // The fingerprint is the one ssh-keygen prints.
    const printed = Bun.spawnSync(["ssh-keygen", "-l", "-f", `${b.key}.pub`]).stdout.toString();
    expect(printed).toContain(fromFile.fingerprint);
    trustKey(c.access.home, fromLine);
    trustKey(c.access.home, fromFile);
    expect(trustedKeys(c.access.home).map((key) => key.principal)).toEqual(["alice", "bob-laptop"]);
    expect(readFileSync(allowedSignersPath(c.access.home), "utf8")).toContain(`alice namespaces="git" ssh-ed25519 `);
    expect(() => trustKey(c.access.home, { ...parsePublicKey(`${c.key}.pub`, "alice", c.dir) })).toThrow(ShareSetupError);
    expect(() => parsePublicKey("ssh-ed25519 notbase64!", undefined, c.dir)).toThrow(ShareSetupError);
    expect(untrustKey(c.access.home, fromFile.fingerprint)?.principal).toBe("bob-laptop");
    expect(untrustKey(c.access.home, "alice")?.principal).toBe("alice");
    expect(trustedKeys(c.access.home)).toEqual([]);
    expect(() => updateShareSettings(c.access.home, { remote: "" })).toThrow();
  });
});

describe("publish and pull", () => {
  test("an offer holds the tool exactly as promoted, signed; a trusting machine verifies it, another refuses the unknown signer", async () => {
    const published = await publishOffer(a.access, "word_count", { machine: "alice-desk" });
    expect(published.ref).toBe(`refs/org/offers/word_count/${published.id}`);
    expect(gitSync(a.dir, ["ls-remote", world.remote]).trim()).toBe(`${published.commit}\t${published.ref}`);
    // The files are main's blobs themselves, the manifest names them by hash, with the gate's record and provenance.
    expect(gitSync(a.dir, ["rev-parse", `${published.commit}:files`]).trim()).toBe(
      gitSync(a.dir, ["rev-parse", "main:tools/generated/word_count"]).trim(),
    );
    const manifest = OfferManifest.parse(JSON.parse(gitSync(a.dir, ["show", `${published.commit}:offer.json`])));
    expect(manifest).toMatchObject({
      id: published.id,
      tool: "word_count",
      provenance: { who: "alice <alice@team.invalid>", machine: "alice-desk" },
    });
    expect(manifest.fitness).toMatchObject({
      verdict: "pass",
      summary: "fitness: pass (test report)",
      stages: [{ stage: "protected-core", ok: true }],
    });
    expect(Object.keys(manifest.files).sort()).toEqual(["metadata.json", "tool.test.ts", "tool.ts"]);
    expect(gitSync(a.dir, ["cat-file", "commit", published.commit])).toContain("gpgsig -----BEGIN SSH SIGNATURE-----");
    // Nobody's git config was changed for the signing.
    expect(readFileSync(join(world.root, "alice-home", ".gitconfig"), "utf8")).not.toContain("signingkey");

    // Alice's own pull leaves her offer alone: it is neither taken nor refused for a key she does not list.
    const own = await pullOffers(a.access);
    expect([own.fresh, own.landable, own.ignored]).toEqual([[], [], []]);
    const pulled = await pullOffers(b.access);
    expect(pulled.landable.map((offer) => [offer.record.id, offer.record.state, offer.signer.principal])).toEqual([[published.id, "new", "alice"]]);
    expect(pulled.landable[0]?.files.get("tool.ts")?.toString()).toBe(WORD_COUNT.tool);
    const refused = await pullOffers(c.access);
    expect(refused.landable).toEqual([]);
    expect(refused.fresh).toMatchObject([
      { id: published.id, state: "refused", reason: "it is signed by a key you do not trust (org share trust KEY)" },
    ]);
    // Pulled again, nothing new is seen.
    expect((await pullOffers(c.access)).fresh).toEqual([]);
    // Once carol trusts alice's key, as the refusal asks, her next pull verifies the same offer and lands it.
    trust(c, a);
    try {
      const retried = await pullOffers(c.access);
      expect(retried.fresh).toMatchObject([{ id: published.id, state: "new", signer: "alice" }]);
      expect(retried.fresh[0]?.reason).toBeUndefined();
      expect(retried.landable.map((offer) => offer.record.id)).toEqual([published.id]);
    } finally {
      untrustKey(c.access.home, "alice");
    }
  }, 60_000);

  test("refused, never landed: a forged signature, a tampered file, an unsigned offer, a replay under a new name, an older after newer", async () => {
    const first = await publishOffer(a.access, "word_count");
    const newer = await publishOffer(a.access, "word_count");
    // Forged: the signed commit's message changed, its signature kept.
    const original = gitSync(a.dir, ["cat-file", "commit", first.commit]);
    const forgedId = "20261129T100000001Z-0000000f";
    const forgedText = original.replace(`offer: word_count ${first.id}`, `offer: word_count ${forgedId}`);
    const forged = gitSync(a.dir, ["hash-object", "-t", "commit", "-w", "--stdin"], forgedText).trim();
    pushRaw(a, forged, `refs/org/offers/word_count/${forgedId}`);
    // Tampered: alice's key signs a tree whose tool.ts is not the one offer.json hashes.
    const evil = gitSync(a.dir, ["hash-object", "-w", "--stdin"], "export default () => ({ words: 0 });\n").trim();
    const files = gitSync(a.dir, ["ls-tree", `${first.commit}:files`]).replace(/\S+(\ttool\.ts)$/m, `${evil}$1`);
    const tamperedFiles = gitSync(a.dir, ["mktree"], files).trim();
    const tamperedId = "20261129T100000002Z-0000000e";
    const manifest = gitSync(a.dir, ["show", `${first.commit}:offer.json`]).replace(first.id, tamperedId);
    const manifestBlob = gitSync(a.dir, ["hash-object", "-w", "--stdin"], manifest).trim();
    const tamperedTree = gitSync(a.dir, ["mktree"], `100644 blob ${manifestBlob}\toffer.json\n040000 tree ${tamperedFiles}\tfiles\n`).trim();
    pushRaw(a, rawCommit(a, tamperedTree, "offer", a.key), `refs/org/offers/word_count/${tamperedId}`);
    // Unsigned.
    const unsignedId = "20261129T100000003Z-0000000d";
    pushRaw(a, rawCommit(a, gitSync(a.dir, ["rev-parse", `${first.commit}^{tree}`]).trim(), "offer"), `refs/org/offers/word_count/${unsignedId}`);
    // The first offer's very commit, pushed again under a newer name.
    const replayId = "20291129T100000000Z-0000000c";
    pushRaw(a, first.commit, `refs/org/offers/word_count/${replayId}`);
    // A name org never writes: kept apart, said, and never verified as an offer.
    pushRaw(a, first.commit, "refs/org/offers/word_count/not-an-id");

    const before = gitSync(b.dir, ["for-each-ref", "--format=%(refname)", "refs/heads/"]);
    const pulled = await pullOffers(b.access);
    const reasons = Object.fromEntries(pulled.fresh.map((record) => [record.id, `${record.state}: ${record.reason ?? ""}`]));
    expect(reasons[forgedId]).toBe("refused: its signature does not match its content (forged or altered)");
    expect(reasons[tamperedId]).toBe("refused: tool.ts does not match the hash its signed offer.json gives (tampered)");
    expect(reasons[unsignedId]).toBe("refused: it is not signed");
    expect(reasons[replayId]).toBe(`refused: replay: it was signed as offer ${first.id} of word_count, but stands under word_count/${replayId}`);
    expect(reasons[first.id]).toBe("new: ");
    expect(reasons[newer.id]).toBe("new: ");
    expect(pulled.ignored).toEqual(["refs/org/incoming/offers/word_count/not-an-id: not a name org writes"]);
    // The offer the first test pulled is still new here (nothing landed it), so it is handed back too; no refused one is.
    const landable = pulled.landable.map((offer) => offer.record.id);
    expect(landable).toEqual(expect.arrayContaining([first.id, newer.id]));
    expect(landable).toHaveLength(3);
    // A pull lands nothing by itself: no branch was made.
    expect(gitSync(b.dir, ["for-each-ref", "--format=%(refname)", "refs/heads/"])).toBe(before);

    // An offer older than one already seen from that signer for that tool, arriving later, is a replay.
    const state = readShareState(b.access.home);
    const older = Object.values(state.offers).find((record) => record.id === first.id);
    expect(older).toBeDefined();
    const oldId = "20261129T000000000Z-0000000b";
    const oldManifest = gitSync(a.dir, ["show", `${first.commit}:offer.json`]).replace(first.id, oldId);
    const oldBlob = gitSync(a.dir, ["hash-object", "-w", "--stdin"], oldManifest).trim();
    const oldTree = gitSync(
      a.dir,
      ["mktree"],
      `100644 blob ${oldBlob}\toffer.json\n040000 tree ${gitSync(a.dir, ["rev-parse", `${first.commit}:files`]).trim()}\tfiles\n`,
    ).trim();
    pushRaw(a, rawCommit(a, oldTree, "offer", a.key), `refs/org/offers/word_count/${oldId}`);
    const late = await pullOffers(b.access);
    expect(late.fresh).toMatchObject([{ id: oldId, state: "refused" }]);
    expect(late.fresh[0]?.reason).toMatch(new RegExp(`^replay: alice already offered word_count as \\S+, newer than ${oldId}$`));
  }, 60_000);

  test("two machines publishing at once both land; a recall is signed and pushed only for what this person published", async () => {
    await promoteFixture(c, CLAMP, "cand/20261129T110000Z");
    await promoteFixture(a, CLAMP, "cand/20261129T110001Z");
    const [fromA, fromC] = await Promise.all([publishOffer(a.access, "clamp_number"), publishOffer(c.access, "clamp_number")]);
    const remote = gitSync(a.dir, ["ls-remote", world.remote, "refs/org/offers/clamp_number/*"]);
    expect(remote).toContain(fromA.ref);
    expect(remote).toContain(fromC.ref);
    expect(await publishRecall(b.access, "clamp_number", "never published here")).toBeUndefined();
    const recall = await publishRecall(a.access, "clamp_number", "wrong on negative numbers");
    expect(recall).toBe(`refs/org/recalls/clamp_number/${fromA.id}`);
    const recallCommit = gitSync(a.dir, ["ls-remote", world.remote, recall ?? ""]).split("\t")[0] ?? "";
    expect(JSON.parse(gitSync(a.dir, ["show", `${recallCommit}:recall.json`]))).toMatchObject({
      tool: "clamp_number",
      offer: fromA.id,
      reason: "wrong on negative numbers",
    });
  }, 60_000);
});

describe("the network is a fact of life", () => {
  test("over git daemon on 127.0.0.1: an offer is pushed and pulled as over file://", async () => {
    const port = freePort();
    const daemon = Bun.spawn(
      [
        "git",
        "daemon",
        "--reuseaddr",
        `--base-path=${world.root}`,
        "--export-all",
        "--enable=receive-pack",
        "--listen=127.0.0.1",
        `--port=${port}`,
        world.root,
      ],
      { env: testGitEnv(), stdout: "ignore", stderr: "pipe" },
    );
    const url = `git://127.0.0.1:${port}/remote.git`;
    try {
      // Ready when it answers, within 10 s.
      const deadline = Date.now() + 10_000;
      while (Bun.spawnSync(["git", "ls-remote", url], { env: testGitEnv(), timeout: 5_000 }).exitCode !== 0) {
        if (Date.now() > deadline || daemon.exitCode !== null) throw new Error(`git daemon did not answer on ${url}`);
        await Bun.sleep(50);
      }
      updateShareSettings(a.access.home, { remote: url });
      updateShareSettings(b.access.home, { remote: url });
      const published = await publishOffer(a.access, "word_count", { machine: "over-the-wire" });
      const pulled = await pullOffers(b.access);
      expect(pulled.remote).toBe(url);
      // Beside what the earlier tests left on the remote for bob: carol's offer (a key bob does not trust) and alice's.
      expect(pulled.fresh).toContainEqual(expect.objectContaining({ id: published.id, state: "new", signer: "alice" }));
      expect(
        pulled.landable
          .find((offer) => offer.record.id === published.id)
          ?.files.get("tool.ts")
          ?.toString(),
      ).toBe(WORD_COUNT.tool);
    } finally {
      updateShareSettings(a.access.home, { remote: world.remote });
      updateShareSettings(b.access.home, { remote: world.remote });
      daemon.kill("SIGKILL");
      await daemon.exited;
    }
  }, 60_000);

  test("a remote that is down is a clear error and changes nothing; too many refs or bytes are refused before anything is kept", async () => {
    const stateFile = join(b.home, "share", "offers.json");
    const stateBefore = existsSync(stateFile) ? readFileSync(stateFile, "utf8") : "";
    const refsBefore = gitSync(b.dir, ["for-each-ref"]);
    updateShareSettings(b.access.home, { remote: `file://${join(world.root, "gone.git")}` });
    try {
      const down = await pullOffers(b.access).catch((error: unknown) => error);
      expect(down).toBeInstanceOf(ShareRemoteError);
      // git's reason, not the advice it ends with ("…and the repository exists."), which names nothing.
      expect((down as Error).message).toStartWith(`the share remote file://${join(world.root, "gone.git")} did not answer: fatal: `);
      expect((down as Error).message).toContain("does not appear to be a git repository");
      expect((down as Error).message).not.toContain("the repository exists");
    } finally {
      updateShareSettings(b.access.home, { remote: world.remote });
    }
    const many = await pullOffers(b.access, { maxRefs: 2, maxBytes: 1 << 30 }).catch((error: unknown) => error);
    expect((many as Error).message).toMatch(/offers \d+ refs, more than the 2 a pull takes: refused, nothing fetched$/);
    const big = await pullOffers(b.access, { maxRefs: 1000, maxBytes: 1024 }).catch((error: unknown) => error);
    expect((big as Error).message).toContain("sent more than 1024 bytes of offers: refused, nothing was kept");
    // Counted again once fetched: a remote that grew after it was counted keeps nothing here either.
    const grown = await quarantinedFetch(b.access.git, b.access.person, world.remote, ["refs/org/offers/"], "refs/org/incoming/", {
      maxRefs: 1,
      maxBytes: 1 << 30,
    }).catch((error: unknown) => error);
    expect((grown as Error).message).toMatch(/ sent \d+ refs, more than the 1 a pull takes: refused, nothing was kept$/);
    expect(gitSync(b.dir, ["for-each-ref"])).toBe(refsBefore);
    expect(existsSync(stateFile) ? readFileSync(stateFile, "utf8") : "").toBe(stateBefore);
  }, 60_000);

  test("a remote that accepts and never answers is a clear error within the call's bound, and changes nothing", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const refsBefore = gitSync(b.dir, ["for-each-ref"]);
    updateShareSettings(b.access.home, { remote: `git://127.0.0.1:${silent.port}/team.git` });
    try {
      const slow = await pullOffers({ ...b.access, person: { ...b.access.person, timeoutMs: 1_000 } }).catch((error: unknown) => error);
      expect(slow).toBeInstanceOf(ShareRemoteError);
      expect((slow as Error).message).toBe(
        `the share remote git://127.0.0.1:${silent.port}/team.git did not answer: no answer within 1 s (nothing changed here; try again later)`,
      );
    } finally {
      updateShareSettings(b.access.home, { remote: world.remote });
      silent.stop(true);
    }
    expect(gitSync(b.dir, ["for-each-ref"])).toBe(refsBefore);
  }, 30_000);

  test("without a remote or a signing key, publish says what to set", async () => {
    const fresh = shareMachines(["dave"]);
    try {
      const [dave] = fresh.machines as [ShareMachine];
      writeFileSync(join(dave.home, "share", "settings.json"), `${JSON.stringify({ remote: world.remote })}\n`, { mode: 0o600 });
      const error = await publishOffer(dave.access, "word_count").catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ShareSetupError);
      expect((error as Error).message).toStartWith("no signing key: give yours with 'org share signing-key PATH'");
      writeFileSync(join(dave.home, "share", "settings.json"), "{}\n", { mode: 0o600 });
      const noRemote = await publishOffer(dave.access, "word_count").catch((caught: unknown) => caught);
      expect((noRemote as Error).message).toBe("no share remote is set: name the team's with 'org share remote URL'");
    } finally {
      fresh[Symbol.dispose]();
    }
  }, 30_000);
});
