/**
 * `run -d` readiness goes through a file flowctl owns, never a signal (SIGUSR1 can open the
 * runtime's inspector), and two launches at once never show each other's output.
 */
import { ExitCode } from "../src/cli/exit_code.ts";
import { assert, assertEquals, assertStringIncludes } from "./assert.ts";
import {
  fixture,
  FlowctlProcess,
  freePort,
  processesWith,
  runFlowctl,
  testPipeline,
  uniqueName,
  waitFor,
} from "./_helpers.ts";

/**
 * Runs what follows with SIGUSR1 blocked (the mask survives exec): a readiness that depended on
 * SIGUSR1 reaching the launcher would never arrive.
 */
const BLOCK_SIGUSR1 = [
  "perl", // perl-base is Essential in Debian: always there
  "-MPOSIX",
  "-e",
  "POSIX::sigprocmask(POSIX::SIG_BLOCK(), POSIX::SigSet->new(POSIX::SIGUSR1())) or die; exec { $ARGV[0] } @ARGV",
];

/** A source that is healthy only after `readyMs`, so `run -d` waits that long. */
function slowSource(readyMs: number) {
  const port = freePort();
  return fixture("src", { HEALTH_PORT: port, READY_AFTER_MS: readyMs }, {
    health: { http: { path: "/health", port }, interval: "100ms" },
  });
}

Deno.test("run -d learns of readiness without SIGUSR1 (blocked here); no inspector opens (4)", async () => {
  await using p = await testPipeline({ name: uniqueName("ready"), sources: [slowSource(1500)] });
  await using launcher = new FlowctlProcess([...p.args, "-d"], {
    env: p.env,
    wrapper: BLOCK_SIGUSR1,
  });
  // Both the launcher and the detached run name the pipeline file on their command lines.
  await waitFor(() => processesWith(p.file).length >= 2, "the detached run to start");
  let finished = false;
  const outcome = launcher.result().finally(() => finished = true);
  await waitFor(() => finished, "run -d to learn that the pipeline started", 30_000);
  const result = await outcome;
  assertEquals(result.code, ExitCode.ok, result.stderr);
  assertStringIncludes(result.stdout, "runs in the background");
  assertEquals((result.stdout + result.stderr).includes("Debugger listening"), false);
  const detached = await Deno.readTextFile(`${p.env.FLOWCTL_STATE_DIR}/${p.name}.err`);
  assertEquals(detached.includes("Debugger"), false, detached);
  const down = await runFlowctl(["down", p.file], { env: p.env });
  assertEquals(down.code, ExitCode.ok, down.stderr);
  const leftover = [...Deno.readDirSync(p.env.FLOWCTL_STATE_DIR!)].map((e) => e.name)
    .filter((name) => name.includes(".launch-"));
  assertEquals(leftover, [], "no launch files are left");
});

Deno.test("two run -d of one pipeline at once never show each other's output (11)", async () => {
  await using p = await testPipeline({ name: uniqueName("twice"), sources: [slowSource(1000)] });
  const [a, b] = await Promise.all([
    runFlowctl([...p.args, "-d"], { env: p.env }),
    runFlowctl([...p.args, "-d"], { env: p.env }),
  ]);
  try {
    const results = [a!, b!].sort((x, y) => x.code - y.code);
    const [winner, loser] = results as [typeof a, typeof a];
    assertEquals(winner.code, ExitCode.ok, winner.stdout + winner.stderr);
    assertEquals(loser.code, ExitCode.failure, loser.stdout + loser.stderr);
    assertStringIncludes(loser.stdout + loser.stderr, "already running");
    assertEquals(
      (winner.stdout + winner.stderr).includes("already running"),
      false,
      `the started launch shows only its own run:\n${winner.stdout}${winner.stderr}`,
    );
    for (const text of ["runs in the background", "Pipeline started successfully"]) {
      assert(!(loser.stdout + loser.stderr).includes(text), `the refused launch shows "${text}"`);
    }
  } finally {
    const down = await runFlowctl(["down", p.file], { env: p.env });
    assertEquals(down.code, ExitCode.ok, down.stderr);
  }
});
