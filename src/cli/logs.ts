/** `flowctl logs`: component log files, prefixed and merged in time order, optionally followed. */
import { resolve } from "node:path";
import { delay } from "../delay.ts";
import { logPath } from "../logs/log_file.ts";
import { type LogLine, mergeByTime, readLogLines } from "../logs/read_logs.ts";
import { readRecordedLogDir, readRunState } from "../state/state_file.ts";
import { didYouMean } from "../config/mod.ts";
import { parseCommandArgs, singleFile } from "./_args.ts";
import { dataPathId, planDataPath } from "../datapath/plan.ts";
import { REPORT_MARKER } from "../datapath/report.ts";
import { loadPipelineFile } from "./_load.ts";
import type { CommandModule } from "./command.ts";
import { ExitCode } from "./exit_code.ts";
import { createOutput, paint } from "./output.ts";
import { installShutdownSignals } from "./shutdown_signals.ts";
import { UsageError } from "./usage_error.ts";

export const logsCommand: CommandModule = {
  help: `Usage: flowctl logs <file> [component...] [-f|--follow] [--tail N] [--log-dir DIR]

Prints the log files of the pipeline's components (all, or those named), each line prefixed
with its component and merged in the order flowctl wrote them. --tail N keeps the last N lines
of each component; -f keeps printing new lines until Ctrl+C. The log folder is --log-dir if
given, else the one the running (or latest) run of the pipeline used, from any folder, else logs.

Exit codes: 0 done, 2 usage or configuration error.`,
  async run(args) {
    const { values, positionals } = parseCommandArgs("logs", args, {
      follow: { type: "boolean", short: "f" },
      tail: { type: "string" },
      "log-dir": { type: "string" },
    });
    const [file = "", ...names] = positionals;
    singleFile("logs", file ? [file] : []);
    const tail = values.tail === undefined ? undefined : Number(values.tail);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) {
      throw new UsageError(
        `invalid --tail "${values.tail}": use a whole number`,
        `run "flowctl logs --help"`,
      );
    }
    const { pipeline } = await loadPipelineFile(file);
    const dir = values["log-dir"]
      ? resolve(values["log-dir"])
      : (await readRunState(pipeline.name))?.logDir ??
        await readRecordedLogDir(pipeline.name) ??
        resolve("logs");
    // The data path logs like a component once a run of this pipeline started one.
    const dataPath = planDataPath(pipeline).plan ? dataPathId(pipeline) : undefined;
    const ids = [
      ...pipeline.components.map((c) => c.id),
      ...(dataPath && await fileExists(logPath(dir, dataPath)) ? [dataPath] : []),
    ];
    for (const name of names) {
      if (!ids.includes(name)) {
        throw new UsageError(
          `no component "${name}" in pipeline "${pipeline.name}"${didYouMean(name, ids)}`,
          `components: ${ids.join(", ")}`,
        );
      }
    }
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
    while (!signals.stop.aborted) {
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

async function fileExists(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false;
  }
}
