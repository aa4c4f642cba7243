/**
 * `flowctl __data-path` (hidden): the data path process that the runner starts and supervises
 * like a component. Reads its plan from FLOWCTL_DATA_PATH_PLAN and the control plane address
 * from FLOWCTL_ENDPOINT; SIGTERM or SIGINT stops it. Exit code 0 once every driven sink finished.
 */
import { decideDataPath, runDataPath } from "../datapath/data_path.ts";
import {
  HOSTS_VARIABLE,
  NOTHING_DRIVEN,
  parsePlan,
  PLAN_VARIABLE,
  POSITIONS_VARIABLE,
} from "../datapath/plan_schema.ts";
import type { CommandModule } from "./command.ts";
import { ExitCode } from "./exit_code.ts";

const help = `Usage: flowctl __data-path [--decide]

Internal: moves the events of a running pipeline's flowctl-sdk v1 components. flowctl run starts
it when a pipeline needs it; it is not meant to be run by hand. With --decide it only decides
which edges it would drive, prints them, and exits 0 when there is one, ${NOTHING_DRIVEN} when none.
`;

export const dataPathCommand: CommandModule = {
  help,
  async run(args): Promise<number> {
    const planText = Deno.env.get(PLAN_VARIABLE);
    const controlPlane = Deno.env.get("FLOWCTL_ENDPOINT");
    if (!planText || !controlPlane) {
      console.error(`flowctl __data-path needs ${PLAN_VARIABLE} and FLOWCTL_ENDPOINT`);
      return ExitCode.usage;
    }
    const plan = parsePlan(planText);
    const positionsFile = Deno.env.get(POSITIONS_VARIABLE);
    const hostsFile = Deno.env.get(HOSTS_VARIABLE);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    Deno.addSignalListener("SIGTERM", onSignal);
    Deno.addSignalListener("SIGINT", onSignal);
    const encoder = new TextEncoder();
    const options = {
      controlPlane,
      signal: stop.signal,
      print: (line: string) => Deno.stdout.writeSync(encoder.encode(`${line}\n`)),
      ...numberFromEnv("FLOWCTL_DATA_PATH_BUFFER", "bufferEvents"),
      ...numberFromEnv("FLOWCTL_DATA_PATH_DECIDE_MS", "decideTimeoutMs"),
      ...(positionsFile ? { positionsFile } : {}),
      ...(hostsFile ? { hostsFile } : {}),
    };
    try {
      if (args.includes("--decide")) {
        return await decideDataPath(plan, options) > 0 ? ExitCode.ok : NOTHING_DRIVEN;
      }
      const outcome = await runDataPath(plan, options);
      if (outcome === "idle") {
        console.log("no edge is driven; waiting to be stopped");
        await new Promise<void>((resolve) =>
          stop.signal.addEventListener("abort", () => resolve(), { once: true })
        );
      }
      return ExitCode.ok;
    } finally {
      Deno.removeSignalListener("SIGTERM", onSignal);
      Deno.removeSignalListener("SIGINT", onSignal);
    }
  },
};

function numberFromEnv<K extends string>(name: string, key: K): Partial<Record<K, number>> {
  const value = Number(Deno.env.get(name));
  return Number.isFinite(value) && value > 0 ? { [key]: value } as Record<K, number> : {};
}
