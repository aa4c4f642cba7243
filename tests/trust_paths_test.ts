/**
 * Folders and files flowctl relies on, attacked as another local user (uid 65534 plants files
 * through setpriv): no fallback into /tmp without HOME, folders of others refused with one line,
 * symlinks never written through.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { ImageCache } from "../src/registry/image_cache.ts";
import { UntrustedPathError } from "../src/trust/owned_dir.ts";
import { NoHomeError, userHome } from "../src/trust/user_home.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "./assert.ts";
import { fixture, isAlive, MAIN, testPipeline, uniqueName } from "./_helpers.ts";

const OTHER_UID = 65534;
const IS_ROOT = Deno.uid() === 0;

/** A new folder at `path` that belongs to uid 65534, as if that user had made it. */
async function theirFolder(path: string, mode = 0o777): Promise<void> {
  await Deno.mkdir(path);
  await Deno.chown(path, OTHER_UID, OTHER_UID);
  await Deno.chmod(path, mode);
}

/** Runs `script` with sh as uid/gid 65534 (another local user). */
async function asOtherUser(script: string, ...args: string[]): Promise<void> {
  const result = await new Deno.Command("setpriv", {
    args: [
      `--reuid=${OTHER_UID}`,
      `--regid=${OTHER_UID}`,
      "--clear-groups",
      "sh",
      "-c",
      script,
      "planter",
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(result.code, 0, new TextDecoder().decode(result.stderr));
}

/** `flowctl <args>` with exactly `env` (HOME and the XDG variables unset unless given). */
async function runBare(args: string[], env: Record<string, string>) {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      DENO_DIR: Deno.env.get("DENO_DIR") ?? "/root/.cache/deno",
      NO_COLOR: "1",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: result.code,
    stdout: new TextDecoder().decode(result.stdout),
    stderr: new TextDecoder().decode(result.stderr),
  };
}

function startTimeOf(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
}

Deno.test("userHome() without HOME reads the user database, and refuses rather than use /tmp", () => {
  const passwd = () =>
    "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
  const noEnv = () => undefined;
  assertEquals(userHome({ env: noEnv, uid: 0, passwd }), "/root");
  assertThrows(() => userHome({ env: noEnv, uid: 65534, passwd }), NoHomeError);
  assertThrows(() => userHome({ env: noEnv, uid: 4242, passwd }), NoHomeError);
});

Deno.test({
  name: "without HOME, a state file planted by another user in /tmp is never read (finding 1)",
  ignore: !IS_ROOT,
  async fn() {
    await using p = await testPipeline({ name: uniqueName("plant"), sources: [fixture("src")] });
    // The victim: a process of ours that a planted state file names as a component.
    const victim = new Deno.Command("sleep", { args: ["60"], detached: true }).spawn();
    const planted = `/tmp/.local/state/flowctl/${p.name}.json`;
    // The test plants in the real /tmp; what it made there goes again.
    const madeTree = !(await Deno.lstat("/tmp/.local").then(() => true, () => false));
    try {
      const state = {
        version: 1,
        pipeline: p.name,
        file: p.file,
        runId: crypto.randomUUID(),
        orchestrator: "process",
        flowctl: { pid: 999_999_999 },
        logDir: p.logDir,
        updatedAt: Date.now(),
        components: [{
          id: "src",
          kind: "source",
          phase: "running",
          pid: victim.pid,
          pidStartTime: startTimeOf(victim.pid),
          restarts: 0,
        }],
      };
      await asOtherUser(
        'mkdir -p /tmp/.local/state/flowctl && chmod -R 777 /tmp/.local && printf %s "$2" > "$1"',
        planted,
        JSON.stringify(state),
      );
      const down = await runBare(["down", p.file], {});
      assertEquals(down.code, ExitCode.ok, down.stderr);
      assertStringIncludes(down.stdout, "Nothing of pipeline");
      assert(isAlive(victim.pid), "the process named by the planted file is still running");
    } finally {
      victim.kill("SIGKILL");
      await victim.status;
      await Deno.remove(madeTree ? "/tmp/.local" : planted, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "a state folder of another user is refused with one line; a planted lock symlink is not followed",
  ignore: !IS_ROOT,
  async fn() {
    await using p = await testPipeline({
      name: uniqueName("plant"),
      sources: [fixture("src", { EXIT_AFTER_MS: 100 }, { restart: "no" })],
    });
    const victim = `${p.dir}/root-owned.conf`;
    await Deno.writeTextFile(victim, "precious\n");
    await Deno.chmod(p.dir, 0o755);
    const theirs = `${p.dir}/theirs`;
    await theirFolder(theirs);
    await asOtherUser('ln -s "$2" "$1/$3.lock"', theirs, victim, p.name);
    const run = await runBare([...p.args], { HOME: "/root", FLOWCTL_STATE_DIR: theirs });
    assertEquals(run.code, ExitCode.failure, run.stderr);
    assertEquals(run.stderr.trim().split("\n").length, 1, run.stderr);
    assertStringIncludes(
      run.stderr,
      `Refusing to use "${theirs}": it is owned by uid ${OTHER_UID}`,
    );
    assertEquals(await Deno.readTextFile(victim), "precious\n");

    // A folder of root's own that others may write (mode 1777, like /tmp) is refused too.
    const shared = `${p.dir}/shared`;
    await Deno.mkdir(shared);
    await Deno.chmod(shared, 0o1777);
    await asOtherUser('ln -s "$2" "$1/$3.lock"', shared, victim, p.name);
    const again = await runBare([...p.args], { HOME: "/root", FLOWCTL_STATE_DIR: shared });
    assertEquals(again.code, ExitCode.failure, again.stderr);
    assertStringIncludes(again.stderr, `Refusing to use "${shared}": others can write to it`);
    assertEquals(await Deno.readTextFile(victim), "precious\n");
  },
});

Deno.test({
  name: "an image cache folder planted by another user is refused, its binaries never used",
  ignore: !IS_ROOT,
  async fn() {
    await using p = await testPipeline({ name: uniqueName("plant"), sources: [] });
    await Deno.chmod(p.dir, 0o755);
    const digest = `sha256:${"a".repeat(64)}`;
    const cache = `${p.dir}/cache`;
    await theirFolder(cache, 0o755);
    await asOtherUser(
      'mkdir -p "$1/images/$2/rootfs" && printf "#!/bin/sh\\necho owned\\n" > "$1/images/$2/rootfs/run"',
      cache,
      digest.replace(":", "-"),
    );
    const error = await assertRejects(() => new ImageCache(cache).root(digest), UntrustedPathError);
    assertStringIncludes(error.message, `owned by uid ${OTHER_UID}`);
  },
});

Deno.test({
  name: "a state folder reached through another user's symlink is refused (1)",
  ignore: !IS_ROOT,
  async fn() {
    await using p = await testPipeline({
      name: uniqueName("plant"),
      sources: [fixture("src", { EXIT_AFTER_MS: 100 }, { restart: "no" })],
    });
    await Deno.chmod(p.dir, 0o755);
    // Like /tmp: root's, sticky, everyone may add names (and re-point their own symlinks).
    const shared = `${p.dir}/shared`;
    await Deno.mkdir(shared);
    await Deno.chmod(shared, 0o1777);
    const mine = `${p.dir}/mine`;
    await Deno.mkdir(mine, { mode: 0o700 });
    await asOtherUser('ln -s "$2" "$1/state"', shared, mine);
    const run = await runBare([...p.args], { HOME: "/root", FLOWCTL_STATE_DIR: `${shared}/state` });
    assertEquals(run.code, ExitCode.failure, run.stderr);
    assertStringIncludes(
      run.stderr,
      `Refusing to use "${shared}/state": it is a symbolic link owned by uid ${OTHER_UID}`,
    );
    assertEquals([...Deno.readDirSync(mine)], [], "nothing written through the symlink");
  },
});
