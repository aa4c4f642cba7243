/**
 * Pull progress on a terminal (a pty from util-linux `script`): `flowctl pull` draws a bar that
 * rewrites one line, and `flowctl run` clears its progress line before the next event.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertMatch } from "./assert.ts";
import { MAIN, testPipeline } from "./_helpers.ts";
import { layer, LocalRegistry, registryWorkspace } from "./_registry.ts";

const ESC = String.fromCharCode(27);
const COLOR = new RegExp(`${ESC}\\[[0-9;]*m`, "g");

/**
 * Runs `flowctl <args>` with stdout on a pty; returns everything written to it, colours removed
 * and each "clear the line" (CR, ESC [K) shown as "<clear>".
 */
async function onTerminal(args: string[], env: Record<string, string>) {
  const command = [Deno.execPath(), "run", "-A", "--quiet", MAIN, ...args]
    .map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(" ");
  const { code, stdout } = await new Deno.Command("script", {
    args: ["-qefc", command, "/dev/null"],
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      TERM: "xterm",
      FLOWCTL_STATE_DIR: Deno.env.get("FLOWCTL_STATE_DIR") ?? `${env.HOME}/state`,
      ...env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const output = new TextDecoder().decode(stdout).replaceAll(COLOR, "")
    .replaceAll(`\r${ESC}[K`, "<clear>");
  return { code, output };
}

Deno.test("pull and run show layer progress on a terminal, on one rewritten line", async () => {
  await using registry = await LocalRegistry.start();
  await using ws = await registryWorkspace();
  const noise = new Uint8Array(3 * 1024 * 1024);
  for (let at = 0; at < noise.length; at += 65536) {
    crypto.getRandomValues(noise.subarray(at, at + 65536));
  }
  await registry.pushImage("flowctl-test/noisy", [
    await layer([
      { path: "component", text: "#!/bin/sh\necho noisy ran\n", mode: 0o755 },
      { path: "noise.bin", bytes: noise },
    ]),
  ], { tag: "v1" });
  await using p = await testPipeline({
    name: "registry-terminal",
    sinks: [{ id: "noisy", type: `${registry.host}/flowctl-test/noisy@v1` }],
  });

  const pulled = await onTerminal(["pull", p.file], {
    ...ws.env,
    ...p.env,
    XDG_CACHE_HOME: `${ws.dir}/a`,
  });
  assertEquals(pulled.code, ExitCode.ok, pulled.output);
  assertMatch(
    pulled.output,
    /<clear>noisy: layer 1\/1 sha256:[0-9a-f]{12} \[\.{24}\] 0\.0\/3\.\d MB/,
  );
  assertMatch(
    pulled.output,
    /<clear>noisy: layer 1\/1 sha256:[0-9a-f]{12} \[#+\.*\] [1-3]\.\d\/3\.\d MB/,
  );
  assertMatch(pulled.output, /<clear>noisy: .*noisy:v1 sha256:[0-9a-f]{64} \(pulled\)\r?\n/);

  const run = await onTerminal(p.args, { ...ws.env, ...p.env, XDG_CACHE_HOME: `${ws.dir}/b` });
  assertEquals(run.code, ExitCode.ok, run.output);
  assertMatch(run.output, /<clear>noisy: layer 1\/1 [0-9a-f]{12} \d\.\d\/3\.\d MB/);
  const pulledLine = run.output.split("\n").find((line) => line.includes("Pulled image"));
  assert(pulledLine, run.output);
  const afterLastClear = pulledLine.slice(pulledLine.lastIndexOf("<clear>") + "<clear>".length);
  assertMatch(afterLastClear, /^Pulled image/, JSON.stringify(pulledLine));
});
