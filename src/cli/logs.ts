/** `flowctl logs`: component log files, prefixed and merged in time order, optionally followed. */
import { absolutePath } from "../absolute_path.ts";
import { delay } from "../delay.ts";
import { logPath } from "../logs/log_file.ts";
import { type LogLine, mergeByTime, readLogLines } from "../logs/read_logs.ts";
import { isRunLive, readRecordedLogDir } from "../state/state_file.ts";
import { checkComponentNames, parseCommandArgs } from "./_args.ts";
import { dataPathId, planDataPath } from "../datapath/plan.ts";
import { REPORT_MARKER } from "../datapath/report.ts";
import { findPipeline, loadTargetPipeline } from "./_target.ts";
import type { CommandModule } from "./command.ts";
import { ExitCode } from "./exit_code.ts";
import { createOutput, paint } from "./output.ts";
import { installShutdownSignals } from "./shutdown_signals.ts";
import { UsageError } from "./usage_error.ts";

export const logsCommand: CommandModule = {
  help: `Usage: flowctl logs [name|file] [component...] [-f|--follow] [--tail N] [--log-dir DIR]

Prints the log files of the pipeline's components (all, or those named), each line prefixed
with its component and merged in the order flowctl wrote them. The pipeline is named by its
name or its file, or is the only one running. The components are those of its running (or
latest) run, --profile ones included. --tail N keeps the last N lines of each component; -f
keeps printing new lines until Ctrl+C, or until the followed run ends. The log folder is
--log-dir if given, else the one the running (or latest) run of the pipeline used, from any
folder, else logs.

Exit codes: 0 done, 1 no pipeline named and none running, 2 usage or configuration error
(an unknown component among them).`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("logs", joinNegativeTail(args), {
      follow: { type: "boolean", short: "f" },
      tail: { type: "string" },
      "log-dir": { type: "string" },
    });
    const tail = values.tail === undefined ? undefined : Number(values.tail);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) {
      throw new UsageError(
        `invalid --tail "${values.tail}": use a whole number (0 or more)`,
        `run "flowctl logs --help"`,
      );
    }
    const target = await findPipeline("logs", positionals);
    const names = target.rest;
    // A running (or recorded) run's file may have moved; its state still names its components.
    const pipeline = target.state
      ? await loadTargetPipeline(target).catch(() => undefined)
      : await loadTargetPipeline(target);
    const dir = values["log-dir"]
      ? absolutePath(values["log-dir"])
      : target.state?.logDir ?? await readRecordedLogDir(target.name) ?? absolutePath("logs");
    // The run's components: those its --profile enabled too, as restart and exec see them; the
    // data path logs like a component once a run of this pipeline started one.
    const dataPath = pipeline && planDataPath(pipeline).plan ? dataPathId(pipeline) : undefined;
    const started = dataPath !== undefined && await fileExists(logPath(dir, dataPath));
    const ids = [
      ...(target.state?.components.map((c) => c.id) ??
        pipeline?.components.map((c) => c.id) ?? []).filter((id) => id !== dataPath),
      ...(started && dataPath ? [dataPath] : []),
    ];
    checkComponentNames(names, ids, target.name);
    const selected = names.length > 0 ? names : ids;
    const out = createOutput("text");
    const width = Math.max(...selected.map((id) => id.length));
    const encoder = new TextEncoder();
    const print = (all: LogLine[]) => {
      // The data path's machine records (edge stats) are for the run, not for people.
      const lines = all.filter((line) => !line.text.startsWith(REPORT_MARKER));
      if (lines.length === 0) return;
      const text = lines.map((line) => {
        const label = line.component.padEnd(width);
        return `${out.color ? paint(label, ids.indexOf(line.component)) : label} | ${line.text}\n`;
      }).join("");
      out.raw(encoder.encode(text));
    };

    const offsets = new Map<string, number>();
    const first = await Promise.all(selected.map(async (id) => {
      const { lines, next } = await readLogLines(id, logPath(dir, id));
      offsets.set(id, next);
      return tail === undefined ? lines : lines.slice(Math.max(0, lines.length - tail));
    }));
    print(mergeByTime(first));
    if (!values.follow) return ExitCode.ok;

    using signals = installShutdownSignals({ onFirst: () => {}, onSecond: () => {} });
    const followed = target.state && isRunLive(target.state) ? target.state : undefined;
    let ended = false;
    while (!signals.stop.aborted && !ended) {
      // Like compose's logs -f: once the run it followed is gone, print what is left and end.
      ended = followed !== undefined && !isRunLive(followed);
      await delay(200, { signal: signals.stop });
      const fresh = await Promise.all(selected.map(async (id) => {
        const path = logPath(dir, id);
        let from = offsets.get(id) ?? 0;
        const size = await Deno.stat(path).then((info) => info.size, () => 0);
        if (size < from) from = 0; // a new run rotated the file
        const { lines, next } = await readLogLines(id, path, from);
        offsets.set(id, next);
        return lines;
      }));
      print(mergeByTime(fresh));
    }
    return ExitCode.ok;
  },
};

/**
 * `--tail -1` as one argument, so a negative count is reported as a bad count rather than as
 * an unknown option.
 */
function joinNegativeTail(args: string[]): string[] {
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (args[i] === "--tail" && next !== undefined && /^-\d/.test(next)) {
      joined.push(`--tail=${next}`);
      i++;
    } else joined.push(args[i]!);
  }
  return joined;
}

async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
