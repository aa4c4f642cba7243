/** What `flowctl restart`, `stop` and `start` share: ask the running flowctl, report per component. */
import { requestControl } from "../admin/admin_client.ts";
import { checkComponentNames, outputFormat, parseCommandArgs } from "./_args.ts";
import { findPipeline } from "./_target.ts";
import type { CommandModule } from "./command.ts";
import { ExitCode } from "./exit_code.ts";
import { createOutput } from "./output.ts";
import { UsageError } from "./usage_error.ts";

type Action = "restart" | "stop" | "start";

const DONE: Record<Action, string> = { restart: "Restarted", stop: "Stopped", start: "Started" };

const WHAT: Record<Action, string> = {
  restart:
    "Stops each component with its grace period and starts it again at once (no backoff, not\ncounted against max_restarts); returns once it passed its health check again.",
  stop:
    'Stops each component with its grace period. A component stopped this way is not a failure\nand is not restarted until "flowctl start"; the rest of the pipeline keeps running.',
  start:
    'Starts components stopped with "flowctl stop"; returns once each passed its health check.',
};

/** The command module of `flowctl <action>`. */
export function controlCommand(action: Action): CommandModule {
  return {
    help: `Usage: flowctl ${action} [name|file] <id>... [--with-dependents] [--output text|json]

${WHAT[action]}
The pipeline is named by its name or its file, or is the only one running.
Works on a running pipeline, in the foreground or detached (run -d); flowctl asks the running
flowctl over its admin socket in the state folder, which only the same user can open.
Dependents are left alone unless --with-dependents (then they ${
      action === "start" ? "start after" : "stop before"
    } the
named components${action === "restart" ? " and start after them" : ""}).

Exit codes: 0 done, 1 the pipeline is not running or a component could not ${action},
2 usage or configuration error (an unknown component).`,
    async run(args) {
      const { values, positionals } = parseCommandArgs(action, args, {
        "with-dependents": { type: "boolean" },
        output: { type: "string" },
      });
      const out = createOutput(outputFormat(action, values.output));
      const target = await findPipeline(action, positionals);
      const ids = target.rest;
      if (ids.length === 0) {
        throw new UsageError(
          "missing component id",
          `usage: flowctl ${action} [name|file] <id>... (see "flowctl ${action} --help")`,
        );
      }
      if (target.state) {
        checkComponentNames(ids, target.state.components.map((c) => c.id), target.name);
      }
      const pipeline = { name: target.name };
      const { results } = await requestControl(pipeline.name, {
        action,
        components: ids,
        withDependents: values["with-dependents"] ?? false,
      });
      const failed = results.some((r) => !r.ok);
      if (out.format === "json") {
        out.json({ pipeline: pipeline.name, ok: !failed, results });
        return failed ? ExitCode.failure : ExitCode.ok;
      }
      for (const result of results) {
        if (result.ok) {
          out.line(
            `${DONE[result.action]} component ${result.component}${
              result.note ? ` (${result.note})` : ""
            }`,
          );
        } else {
          out.error(
            `flowctl: cannot ${result.action} component "${result.component}": ${result.reason}`,
          );
        }
      }
      return failed ? ExitCode.failure : ExitCode.ok;
    },
  };
}
