/** `flowctl ui`: the dashboard URL of a running pipeline, asked of its flowctl. */
import { requestDashboard } from "../admin/admin_client.ts";
import { isRunLive, listRunStates } from "../state/state_file.ts";
import { outputFormat, parseCommandArgs } from "./_args.ts";
import { showDashboardUrl } from "./_dashboard.ts";
import { loadPipelineFile } from "./_load.ts";
import type { CommandModule } from "./command.ts";
import { ExitCode } from "./exit_code.ts";
import { createOutput, type Output } from "./output.ts";
import { UsageError } from "./usage_error.ts";

export const uiCommand: CommandModule = {
  help: `Usage: flowctl ui [NAME|FILE] [--open] [--output text|json]

Prints the URL of the live dashboard of a running pipeline (in the foreground elsewhere, or
detached with run -d), with its access token; the running flowctl starts the dashboard on
127.0.0.1 and a free port if "run --ui" did not. NAME is the pipeline's name (or give its
file); without it, the only running pipeline. --open also opens the URL in the browser.
The URL is asked over the admin socket in the state folder, which only the same user can open.

Exit codes: 0 printed, 1 no such pipeline is running, 2 usage error.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("ui", args, {
      open: { type: "boolean" },
      output: { type: "string" },
    });
    const out = createOutput(outputFormat("ui", values.output));
    if (positionals.length > 1) {
      throw new UsageError(`unexpected argument "${positionals[1]}"`, `run "flowctl ui --help"`);
    }
    const name = await pipelineName(positionals[0], out);
    if (name === undefined) return ExitCode.failure;
    const url = await requestDashboard(name);
    showDashboardUrl(out, url);
    if (values.open) await openBrowser(url, out);
    return ExitCode.ok;
  },
};

/** The pipeline meant: named, the one in a file, or the only one running. */
async function pipelineName(given: string | undefined, out: Output): Promise<string | undefined> {
  if (given !== undefined && /\.ya?ml$|^-$|\//.test(given)) {
    return (await loadPipelineFile(given)).pipeline.name;
  }
  if (given !== undefined) return given;
  const running = (await listRunStates()).filter(isRunLive);
  if (running.length === 1) return running[0]?.pipeline;
  if (running.length === 0) {
    out.error('No running pipeline; start one with "flowctl run --ui"');
    return undefined;
  }
  throw new UsageError(
    `${running.length} pipelines are running (${
      running.map((s) => s.pipeline).join(", ")
    }); name one`,
    'usage: flowctl ui NAME (see "flowctl ui --help")',
  );
}

/** Opens `url` with the desktop's opener; says so when there is none. */
async function openBrowser(url: string, out: Output): Promise<void> {
  const opener = Deno.build.os === "darwin" ? "open" : "xdg-open";
  try {
    const child = new Deno.Command(opener, {
      args: [url],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const { success } = await child.status;
    if (!success) out.error(`flowctl: ${opener} could not open the URL; open it yourself`);
  } catch {
    out.error(`flowctl: cannot open a browser here (no "${opener}"); open the URL yourself`);
  }
}
